#!/usr/bin/env python3
"""footprint.py - one row of `make firmware`'s table, from a linked ELF.

    footprint.py NAME ELF BOARD_OUTPUT FILE.ci...

flash: .text + .rodata, less the model file and the input series (fw_model,
fw_series: counted apart, as data the firmware carries, not code).
RAM: .data + .bss less the arena, the arena as linked (its peak use in the
run beside it), and the worst-case stack: the deepest path from main
through GCC's call graph (-fcallgraph-info=su, whose nodes carry
-fstack-usage's frame sizes), plus the reset handler's frame.  An indirect
call (a detector's vtable, an allocator) may reach any function the ELF
keeps that nothing calls directly, nested twice at most (an ensemble
calling a member); other recursion is cut at the first repeat.
libc and libgcc functions (no call graph) are sized from their
disassembly: the bytes their prologue pushes and subtracts, and their own
deepest callee, the same way.  The stack the run really used (painted at
reset) is printed beside it.
"""
import re
import subprocess
import sys

ARM = "arm-none-eabi-"


def sections(elf):
    out = subprocess.run([ARM + "size", "-A", elf], capture_output=True, text=True, check=True).stdout
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\.\S+)\s+(\d+)", out, re.M)}


def symbols(elf):
    """name -> (size, type) of every symbol with a size."""
    out = subprocess.run([ARM + "nm", "-S", elf], capture_output=True, text=True, check=True).stdout
    syms = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4:
            syms[f[3]] = (int(f[1], 16), f[2])
    return syms


def callgraph(ci_files):
    """GCC's call graph: name -> frame bytes, name -> set of callees."""
    frame, calls = {}, {}
    for path in ci_files:
        with open(path) as f:
            for line in f:
                m = re.match(r'node: \{ title: "(?:[^"]*:)?([^":]+)" label: "[^"]*\\n(\d+) bytes', line)
                if m:
                    frame[m.group(1)] = int(m.group(2))
                    continue
                m = re.match(r'edge: \{ sourcename: "(?:[^"]*:)?([^":]+)" targetname: "(?:[^"]*:)?([^":]+)"', line)
                if m:
                    calls.setdefault(m.group(1), set()).add(m.group(2))
    return frame, calls


def disassembly_graph(elf):
    """For functions without a call graph: prologue bytes and bl targets."""
    out = subprocess.run([ARM + "objdump", "-d", elf], capture_output=True, text=True, check=True).stdout
    frame, calls, name, prologue = {}, {}, None, True
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <([^>]+)>:", line)
        if m:
            name, prologue = m.group(1), True
            frame[name], calls[name] = 0, set()
            continue
        if not name or "\t" not in line:
            continue
        insn = line.split("\t", 2)[-1]
        if prologue:
            m = re.match(r"(?:push|stmdb\s+sp!,)\s*\{([^}]*)\}", insn)
            if m:
                frame[name] += 4 * len(m.group(1).split(","))
                continue
            m = re.match(r"vpush\s*\{([^}]*)\}", insn)
            if m:
                regs = m.group(1).replace(" ", "").split(",")
                n = 0
                for r in regs:
                    a = re.match(r"([sd])(\d+)-[sd](\d+)", r)
                    n += (int(a.group(3)) - int(a.group(2)) + 1) * (4 if a.group(1) == "s" else 8) if a else (4 if r[0] == "s" else 8)
                frame[name] += n
                continue
            m = re.match(r"sub(?:w)?\s+sp,\s*(?:sp,\s*)?#(\d+)", insn)
            if m:
                frame[name] += int(m.group(1))
                prologue = False
                continue
        m = re.match(r"bl?\.?w?\s+[0-9a-f]+ <([^>+]+)>", insn)
        if m and insn.startswith("bl"):
            calls[name].add(m.group(1))
    return frame, calls


def worst_stack(root, frame, calls, asm_frame, asm_calls, indirect, nesting=2):
    """The deepest path from root.  An indirect call may nest `nesting`
    deep (an ensemble calling its members); other cycles are cut."""
    memo = {}

    def depth(f, path, left):
        if f in path or (f == "__indirect_call" and left == 0):
            return 0
        if (f, left) in memo:
            return memo[f, left]
        if f == "__indirect_call":
            here, callees, left = 0, indirect, left - 1
        elif f in frame:
            here, callees = frame[f], calls.get(f, ())
            path = path | {f}
        else:
            here, callees = asm_frame.get(f, 0), asm_calls.get(f, ())
            path = path | {f}
        d = here + max((depth(g, path, left) for g in callees), default=0)
        memo[f, left + (f == "__indirect_call")] = d
        return d

    return depth(root, frozenset(), nesting)


def main():
    name, elf, qemu_out, ci = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    sec, syms = sections(elf), symbols(elf)
    apart = sum(syms.get(s, (0, ""))[0] for s in ("fw_model", "fw_series"))
    arena = syms.get("fw_arena", (0, ""))[0]
    run = open(qemu_out).read()
    measured = {k: f"{int(m.group(1), 16):,}" if m else "not run"
                for k in ("arena", "stack") for m in [re.search(rf"^{k} peak ([0-9a-f]+)", run, re.M)]}
    frame, calls = callgraph(ci)
    asm_frame, asm_calls = disassembly_graph(elf)
    called = set().union(*calls.values()) | set().union(*asm_calls.values())
    kept = {s for s, (_, t) in syms.items() if t in "tT"}
    indirect = sorted(s for s in kept if s not in called and s not in ("main", "fw_reset", "fw_fault"))
    stack = frame.get("fw_reset", 0) + worst_stack("main", frame, calls, asm_frame, asm_calls, indirect)
    flash = sec.get(".text", 0) + sec.get(".rodata", 0) - apart
    static_ram = sec.get(".data", 0) + sec.get(".bss", 0) - arena
    ram = static_ram + arena + stack
    print(f"| {name} | {flash:,} | {syms.get('fw_model', (0, ''))[0]:,} | {static_ram:,} | "
          f"{arena:,} ({measured['arena']}) | {stack:,} ({measured['stack']}) | **{ram:,}** |")


main()
