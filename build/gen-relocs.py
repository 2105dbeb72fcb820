#!/usr/bin/env python3
"""Writes an x86-64 assembler source whose object has exactly N relocations, for scaling runs.

    build/gen-relocs.py N out.s && as out.s -o out.o

The mix: in .text, PC-relative references (R_X86_64_PC32, `.long sym - .`) and, one in a
thousand, a GOT load (R_X86_64_REX_GOTPCRELX, a PG0002 finding); in .data, absolute pointers
(R_X86_64_64, `.quad sym`), which every relocation rule evaluates but none reports outside code.
Relocations name 1,000 undefined global symbols, so the symbol table stays small.
"""
import sys

SYMBOLS = 1000


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: gen-relocs.py N out.s")
    n = int(sys.argv[1])
    if n < 2:
        sys.exit("N must be at least 2")
    findings = n // 1000
    text = n // 2
    data = n - text
    lines = ["\t.text", "\t.globl code", "\t.type code,@function", "code:"]
    for i in range(text):
        if i < findings:
            lines.append(f"\tmovq sym{i % SYMBOLS}@GOTPCREL(%rip), %rax")
        else:
            lines.append(f"\t.long sym{i % SYMBOLS} - .")
    lines.append("\t.data\npointers:")
    for i in range(data):
        lines.append(f"\t.quad sym{i % SYMBOLS}")
    lines.append('\t.section .note.GNU-stack,"",@progbits')
    with open(sys.argv[2], "w") as out:
        out.write("\n".join(lines))
        out.write("\n")


if __name__ == "__main__":
    main()
