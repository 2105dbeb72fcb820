/* The entry point: the loader jumps here with a stack. */
    .text
    .globl blob_start
blob_start:
    call blob_main
    ret
