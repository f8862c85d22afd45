#!/usr/bin/env python3
"""usage: private-map.py FILE -- maps FILE privately for reading, then privately for writing (as an ELF loader maps a
program's data segment), and prints "mapped" or the second mapping's error (a daxfs mount without a writable layer
refuses it: "Permission denied")."""
import mmap, os, sys

fd = os.open(sys.argv[1], os.O_RDONLY)
mmap.mmap(fd, 1, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ).close()
try:
    mmap.mmap(fd, 1, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE).close()
    print("mapped")
except OSError as e:
    print(os.strerror(e.errno))
