# Turns `readelf -rW FILE` into the tab-separated form of `picguard dump-relocs`:
#   object  section  offset  type-number  type-name  symbol  addend
# Run as: readelf -rW FILE | awk -v file=FILE -f build/readelf-relocs.awk
# The type number is r_info's low 32 bits (ELF64) or low 8 bits (ELF32); the addend is signed hex.
BEGIN {
    object = file; OFS = "\t"
    for (k = 1; k < 32; k++) caret[sprintf("%c", k)] = "^" sprintf("%c", k + 64)
    caret[sprintf("%c", 127)] = "^?"
}
/^File: / { object = substr($0, 7); next }
/^Relocation section '/ {
    section = $0
    sub(/^Relocation section '/, "", section)
    sub(/' at offset .*$/, "", section)
    rela = 0
    next
}
/Symbol's Name \+ Addend$/ { rela = 1; next }
/^ *Offset +Info +Type/ { rela = 0; next }
/^[0-9a-f]+ +[0-9a-f]+ / {
    offset = $1; info = $2
    is64 = length(info) == 16
    typenum = is64 ? hex(substr(info, 9, 8)) : hex(substr(info, 7, 2))
    sym = is64 ? hex(substr(info, 1, 8)) : hex(substr(info, 1, 6))
    i = 3
    if ($3 == "unrecognized:") { typename = "unrecognized: " $4; i = 5 } else { typename = $3; i = 4 }
    name = ""; addend = ""
    if (sym != 0) {
        # The name is what lies between the symbol's value and " + addend", as printed: names may hold or end in
        # spaces (clang's ".L0 "), which splitting into fields would lose.
        rest = $0
        sub(/^ *[0-9a-f]+ +[0-9a-f]+ +(unrecognized: [0-9a-f]+|[^ ]+) +[0-9a-f]+ /, "", rest)
        if (rela) {
            addend = ($(NF - 1) == "-" ? "-0x" : "+0x") $NF
            sub(/ [-+] [0-9a-f]+$/, "", rest)
        } else {
            sub(/^  /, "", rest)                  # REL rows put three spaces after the value
        }
        name = printable(rest)
    } else if (rela) {
        a = $NF
        addend = (substr(a, 1, 1) == "-") ? "-0x" substr(a, 2) : "+0x" a
    }
    print object, section, offset, typenum, typename, name, addend
}
# A control byte as GNU readelf and picguard print it (^B); llvm-readelf prints it raw.
function printable(s,    out, k, c) {
    if (s !~ /[\001-\037\177]/) return s
    out = ""
    for (k = 1; k <= length(s); k++) { c = substr(s, k, 1); out = out ((c in caret) ? caret[c] : c) }
    return out
}
function hex(s,    n, k, c) {
    n = 0
    for (k = 1; k <= length(s); k++) { c = index("0123456789abcdef", substr(s, k, 1)) - 1; n = n * 16 + c }
    return n
}
