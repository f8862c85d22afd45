#!/bin/sh
# Guest side of Measure-NoGate.sh: mounts the hostile format-8 cases listed in $1 (name offset length backing kind
# expect per line) from line $2 on with plain mount(8), WITHOUT DaxFs's gate, reads everything, unmounts; appends one
# line per case to $3 ("start N NAME" before the mount, then the outcome), synced, so the host knows which case a
# crash or hang happened in.
list=$1; from=$2; out=$3
mkdir -p /tmp/m
n=0
while read -r name offset length backing kind expect; do
  n=$((n + 1))
  [ "$n" -lt "$from" ] && continue
  echo "start $n $name" >> "$out"; sync
  opts=$(printf 'phys=0x%x,size=%s' $((DAXFS_VM_PHYS + offset)) "$length")
  [ "$backing" != "-" ] && opts="$opts,backing=$backing"
  if mount -t daxfs -o "$opts" none /tmp/m 2>/dev/null; then
    if timeout 60 sh -c 'ls -laR /tmp/m >/dev/null 2>&1; find /tmp/m -type f -exec cat {} + >/dev/null 2>&1; find /tmp/m -type l -exec readlink {} + >/dev/null 2>&1'; then r=mounted-read; else r=mounted-read-error; fi
    umount /tmp/m 2>/dev/null || umount -l /tmp/m
  else
    r=kernel-refused
  fi
  echo "done $n $name $kind $r $(dmesg | tail -1 | tr ' ' '_' | cut -c1-120)" >> "$out"; sync
done < "$list"
echo "end" >> "$out"; sync
