# Guest B of the hosts boot (see Hosts.Common.ps1): another kernel on the same memory. It never mounts a half-written
# image (the writer's marker makes the kernel refuse it), mounts the image the writer placed by physical range and reads
# every file identical to the source without spending page cache on it, and sees its own branch invalidated (ESTALE)
# when the other kernel commits a sibling.

BeforeAll {
    . $PSScriptRoot/Hosts.Common.ps1
    $script:DataOffset = Get-DataOffset
    $script:StaticPhys = $Phys + $DataOffset
    $script:Mnt = New-MountPoint 'hosts-b'
    $script:Main = New-MountPoint 'hosts-b-main'
    $script:Main2 = New-MountPoint 'hosts-b-main2'
    $script:Br = New-MountPoint 'hosts-b-branch'
    $script:MountOptions = 'phys=0x{0:x},size={1}' -f $StaticPhys, $Hosts.ImageSize
    Send-Signal 'B-ready'
}
AfterAll { Save-Measured 'B' }

Describe 'Mounting memory another kernel writes (reader)' {
    It 'cannot mount the memory a stopped write left: the kernel and Mount-DaxFs both refuse the marker' {
        Wait-Signal 'A-stopped' 900
        try {
            Get-Head $DataOffset | Should -Be 'DAXFSWIP'
            & mount -t daxfs -o $MountOptions none $Mnt 2>$null
            $LASTEXITCODE | Should -Not -Be 0 -Because 'the kernel refuses memory that does not start with the magic'
            $e = { Mount-DaxFs -PhysicalAddress $StaticPhys -Size $Hosts.ImageSize -MountPoint $Mnt -Confirm:$false -ErrorAction Stop } |
                Should -Throw -ErrorId 'ImageFailsValidation,DaxFs.Commands.MountDaxFsCommand' -PassThru
            $e.Exception.Message | Should -Match 'IMG-INCOMPLETE-WRITE'
        }
        finally { Send-Signal 'B-refused-stopped' }
    }
    It 'never mounts a half-written image while the other kernel writes (mount(2) in a loop, no gate)' {
        Wait-Signal 'A-writing'
        # A shell loop of raw mount attempts while the writer writes: each records what the memory starts with and
        # whether the kernel mounted it; a mount is checked (entry count and one file's hash) and unmounted at once.
        $log = Join-Path $Data 'results/mount-loop.txt'
        $probe = $Hosts.Probe
        $loop = @"
i=0; s=$Sync
while [ ! -e `$s/A-written ] || [ `$i -lt 2 ]; do
  [ -e `$s/A-written ] && i=`$((i+1))
  head=`$(dd if=/dev/pmem0 bs=4096 count=1 skip=$($DataOffset / 4096) iflag=direct status=none | head -c 8)
  if mount -t daxfs -o $MountOptions none $Mnt 2>/dev/null; then
    n=`$(find $Mnt | wc -l); h=`$(sha256sum $Mnt$($probe.Path) 2>&1 | cut -c1-64); umount $Mnt
    echo "`$head mounted `$n `$h"
  else echo "`$head refused"; fi
done > $log
"@
        # The script as one argument (Start-Process would join and re-split its lines).
        $psi = [Diagnostics.ProcessStartInfo]::new('sh')
        $psi.ArgumentList.Add('-c')
        $psi.ArgumentList.Add($loop)
        $p = [Diagnostics.Process]::Start($psi)
        Start-Sleep -Milliseconds 300
        Send-Signal 'B-looping'
        $p.WaitForExit(600000) | Should -BeTrue
        $lines = @(Get-Content $log)
        $Measured.MountAttempts = $lines.Count
        $Measured.AttemptsSeeingMarker = @($lines | Where-Object { $_ -like 'DAXFSWIP*' }).Count
        $Measured.MountedDuringWrite = @($lines | Where-Object { $_ -like 'DAXFSWIP mounted*' }).Count
        $Measured.Mounted = @($lines | Where-Object { $_ -like '* mounted *' }).Count
        # The head is read just before each mount: a mount after a head with the marker is the writer storing the magic
        # in between (seen: 1 of 13 attempts); what counts is that every mount the kernel made showed the whole image:
        # all entries, the probe file's content.
        foreach ($l in @($lines | Where-Object { $_ -like '* mounted *' })) { $l | Should -Match " mounted $($Hosts.Expected.Count + 1) $($probe.Sha256.ToLowerInvariant())$" }
        $Measured.Mounted | Should -BeGreaterThan 0 -Because 'the loop goes on until it has mounted the finished image'
    }
    It 'mounts by physical range and reads every file identical to the source, with no page cache spent' {
        Wait-Signal 'A-written'
        Mount-DaxFs -PhysicalAddress $StaticPhys -Size $Hosts.ImageSize -MountPoint $Mnt -Confirm:$false | Out-Null
        try {
            Invoke-Tool sync @() | Out-Null
            Clear-PageCache
            $before = Get-MemInfo
            $diff = Compare-Tree $Mnt     # reads every byte of every file (SHA-256)
            $after = Get-MemInfo
            $diff | Should -BeNullOrEmpty
            # The same bytes read through the raw namespace's block device, which has a page cache: the control. The device
            # is held open while it is measured: this kernel counts a block device's page cache (Buffers) only while the
            # device is open, and after its last close the pages stay cached unseen (drop_caches leaves them, a later
            # read frees them), so MemAvailable around a dd that has exited measured anything from -6 to -48 MB for the
            # same 43 MB read, while Buffers with the device open grew by the bytes read in every round (measured).
            Clear-PageCache
            $held = [IO.File]::Open('/dev/pmem0', 'Open', 'Read', 'ReadWrite')
            try {
                $b2 = Get-MemInfo
                Invoke-Tool dd @('if=/dev/pmem0', 'of=/dev/null', 'bs=1M', "skip=$($DataOffset / 1MB)", "count=$([math]::Ceiling($Hosts.ImageSize / 1MB))", 'status=none') | Out-Null
                $a2 = Get-MemInfo
            }
            finally { $held.Dispose() }
        }
        finally { Dismount-DaxFs -MountPoint $Mnt -Confirm:$false; Send-Signal 'B-read' }
        $Measured.PageCache = [ordered]@{
            FileBytesRead = $Hosts.FileBytes; MemAvailableBefore = $before.MemAvailable; MemAvailableAfter = $after.MemAvailable
            DaxfsCachedBefore = $before.Cached; DaxfsCachedAfter = $after.Cached; DaxfsCachedGrowth = $after.Cached - $before.Cached
            DaxfsMemAvailableDrop = $before.MemAvailable - $after.MemAvailable
            BlockDeviceCachedGrowth = $a2.Cached - $b2.Cached; BlockDeviceBuffersGrowth = $a2.Buffers - $b2.Buffers; BlockDeviceMemAvailableDrop = $b2.MemAvailable - $a2.MemAvailable
            DaxfsLargestChanges = Get-MemInfoChange $before $after; BlockDeviceLargestChanges = Get-MemInfoChange $b2 $a2
        }
        Write-Host ("Page cache on the reader: reading {0:N0} bytes of files through daxfs grew Cached by {1:N0} bytes (MemAvailable {2:-#,0;+#,0;0}); the same image read through /dev/pmem0 took MemAvailable {3:-#,0;+#,0;0} (Cached+Buffers {4:+#,0;-#,0}; largest changes {5})" -f
            $Hosts.FileBytes, $Measured.PageCache.DaxfsCachedGrowth, $Measured.PageCache.DaxfsMemAvailableDrop, $Measured.PageCache.BlockDeviceMemAvailableDrop,
            ($Measured.PageCache.BlockDeviceCachedGrowth + $Measured.PageCache.BlockDeviceBuffersGrowth), ($Measured.PageCache.BlockDeviceLargestChanges -join ', '))
        # The DAX reads go to the memory: far less than the bytes read (kernel noise of pwsh itself aside).
        $Measured.PageCache.DaxfsCachedGrowth | Should -BeLessThan ($Hosts.FileBytes / 4)
        # The control: reading the same bytes through the block device fills its page cache (Buffers, the device open).
        $Measured.PageCache.BlockDeviceBuffersGrowth | Should -BeGreaterThan ($Hosts.FileBytes / 2)
    }
}

Describe 'Sibling branches made by two kernels (reader)' {
    It 'makes brB beside the other kernel''s brA and writes in it' {
        Wait-Signal 'A-main'
        Invoke-Tool mount @('-t', 'daxfs', '-o', ("phys=0x{0:x},size={1}" -f $StaticPhys, $Hosts.BranchSize), 'none', $Main) | Out-Null
        Send-Signal 'B-main'
        # One kernel after the other: making a branch takes no cross-kernel lock (about_DaxFs, Sharing across hosts).
        Wait-Signal 'A-branched'
        New-DaxFsBranch -Name brB -Parent $Main -MountPoint $Br -Confirm:$false | Out-Null
        Set-Content (Join-Path $Br 'new-B.txt') 'written by B'
        Set-Content (Join-Path $Br 'f1.txt') 'changed by B'
        Send-Signal 'B-branched'
        $live = Get-DaxFsBranch $Main
        (Compare-DaxFsBranch $Main -Branch brA).Path | Should -Contain '/new-A.txt' -Because 'this kernel reads the other kernel''s branch from the shared memory'
        $Measured.LogOffsets = @($live | ForEach-Object { "$($_.Name)=$($_.LogOffset)" })
        @($live.LogOffset | Sort-Object -Unique).Count | Should -Be @($live).Count -Because 'each branch has its own delta log'
    }
    It 'sees its branch invalidated when the other kernel commits: ESTALE on every operation' {
        Wait-Signal 'A-committed'
        try {
        $e = { Get-ChildItem -LiteralPath $Br -ErrorAction Stop } | Should -Throw -PassThru
        $Measured.ListAfterCommit = "$($e.Exception.Message)"
        $e.Exception.Message | Should -Match 'Stale file handle'
        $w = { Set-Content (Join-Path $Br 'again.txt') 'x' -ErrorAction Stop } | Should -Throw -PassThru
        $Measured.WriteAfterCommit = "$($w.Exception.Message)"
        $table = Get-DaxFsBranch $Main -WarningAction SilentlyContinue
        $Measured.TableAfterCommit = @($table | ForEach-Object { "$($_.Name):$($_.State):gen$($_.Generation)" })
        ($table | Where-Object Name -eq 'brB').State | Should -Be 'Aborted' -Because 'the commit marks active siblings ABORTED in the shared table'
        }
        finally { Send-Signal 'B-saw-stale' }
    }
    It 'shows the commit in a fresh mount of main only; its main mounted before does not' {
        $Measured.OldMainHasNewA = Test-Path (Join-Path $Main 'new-A.txt')
        $Measured.OldMainF1 = Get-Content (Join-Path $Main 'f1.txt')
        Invoke-Tool mount @('-t', 'daxfs', '-o', ("phys=0x{0:x},size={1}" -f $StaticPhys, $Hosts.BranchSize), 'none', $Main2) | Out-Null
        $Measured.FreshMainHasNewA = Test-Path (Join-Path $Main2 'new-A.txt')
        $Measured.FreshMainF1 = Get-Content (Join-Path $Main2 'f1.txt')
        $Measured.OldMainHasNewA | Should -BeFalse
        $Measured.FreshMainHasNewA | Should -BeTrue
        $Measured.FreshMainF1 | Should -Be 'changed by A'
        Wait-Signal 'host-read-stale' 120
        # The listing that failed with ESTALE can leave its directory handle to the finalizer, and the branch mount is then
        # busy (EBUSY once in CI): collect it first, and give a busy mount a few more seconds.
        [GC]::Collect(); [GC]::WaitForPendingFinalizers()
        foreach ($try in 1..5) {
            try { Dismount-DaxFs -MountPoint $Br -Confirm:$false -ErrorAction Stop; break }
            catch { if ($try -eq 5 -or "$_" -notmatch 'busy') { throw }; Start-Sleep -Seconds 1; [GC]::Collect(); [GC]::WaitForPendingFinalizers() }
        }
        Dismount-DaxFs -MountPoint $Main2, $Main -Confirm:$false
        Send-Signal 'B-branches-done'
    }
}
