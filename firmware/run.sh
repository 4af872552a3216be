#!/bin/sh
# firmware/run.sh - the end of `make firmware`: runs each firmware under
# qemu (MPS2 AN386, Cortex-M4F, semihosting), checks its scores are the
# host build's bit for bit, and prints the footprint table.
#
#   sh firmware/run.sh DIR KIND...      (DIR/KIND/fw.elf, DIR/KIND/host)
#
# Without qemu-system-arm the runs are skipped (and said so); the table
# then has no measured arena and stack peaks.
dir=$1; shift
status=0
qemu=$(command -v qemu-system-arm)
[ -n "$qemu" ] || echo "firmware: qemu-system-arm not found: not run, scores not compared"
for kind in "$@"; do
    "$dir/$kind/host" > "$dir/$kind/host.out" || { echo "firmware: $kind: the host build failed"; status=1; }
    : > "$dir/$kind/qemu.out"
    [ -n "$qemu" ] || continue
    timeout 300 "$qemu" -M mps2-an386 -display none -monitor none -serial none \
        -chardev file,id=out,path="$dir/$kind/qemu.out" -semihosting-config enable=on,target=native,chardev=out \
        -kernel "$dir/$kind/fw.elf"
    rc=$?
    rows=$(grep -c '^[0-9a-f]\{8\}$' "$dir/$kind/qemu.out")
    if [ $rc -ne 0 ]; then
        echo "firmware: $kind: the board run failed (exit $rc): $(tail -n 1 "$dir/$kind/qemu.out")"; status=1
    elif [ "$(grep '^[0-9a-f]\{8\}$' "$dir/$kind/host.out")" = "$(grep '^[0-9a-f]\{8\}$' "$dir/$kind/qemu.out")" ]; then
        echo "firmware: $kind: $rows scores on the board, equal to the host's bit for bit"
    else
        echo "firmware: $kind: the board's scores differ from the host's"; status=1
    fi
done
echo
echo "| firmware | flash: .text + .rodata, B | model file, B | .data + .bss, B | arena, B (peak) | stack, B: worst case (run) | RAM, B |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for kind in "$@"; do
    python3 "$(dirname "$0")/footprint.py" "$kind" "$dir/$kind/fw.elf" "$dir/$kind/qemu.out" "$dir/$kind"/*.ci || status=1
done
exit $status
