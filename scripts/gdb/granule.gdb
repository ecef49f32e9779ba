# gdb commands for a granule kernel paused in QEMU's gdbstub (make debug, scripts/gdb/debug.sh).
# debug.sh has already set the architecture and loaded the symbols (file granule.elf).
set pagination off
set confirm off
set print pretty on
# QEMU's gdbstub: -s listens on tcp::1234.
target remote localhost:1234
# Stop where the generic kernel starts; `continue` to get there.
break kernel_main
echo granule: connected; 'continue' runs to kernel_main\n
