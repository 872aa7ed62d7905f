#!/bin/sh
# Fails unless the dynamic symbols libdeconv exports equal the committed list exactly.
# usage: check_exports.sh path/to/libdeconv.so Tests/abi/exports.txt
set -eu
lib=$1 list=$2
tmp=${TMPDIR:-/tmp}/deconv_exports.$$
# Linker-generated markers (lld exports them) are not part of our ABI.
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDRBVW]$/ && $3 !~ /^(__bss_start|_edata|_end)$/ {print $3}' | sort > "$tmp.actual"
grep -v '^#' "$list" | sed '/^$/d' | sort > "$tmp.expected"
if cmp -s "$tmp.expected" "$tmp.actual"; then
    echo "exports: $(wc -l < "$tmp.actual") symbols match $list"
    rm -f "$tmp.actual" "$tmp.expected"
    exit 0
fi
echo "exports differ from $list (< expected, > actual):" >&2
diff "$tmp.expected" "$tmp.actual" >&2 || true
rm -f "$tmp.actual" "$tmp.expected"
exit 1
