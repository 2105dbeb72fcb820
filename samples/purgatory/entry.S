/* Entry of the blob: set up a stack, check the digest, jump to the next kernel. */
	.text
	.globl	purgatory_start
	.type	purgatory_start, @function
purgatory_start:
	leaq	stack_end(%rip), %rsp
	call	purgatory
	jmp	*next_entry(%rip)
	.size	purgatory_start, . - purgatory_start

	.data
	.balign	8
	.globl	next_entry
next_entry:
	.quad	0		/* patched by the loader */

	.bss
	.balign	16
stack:
	.skip	4096
stack_end:

	.section .note.GNU-stack, "", @progbits
