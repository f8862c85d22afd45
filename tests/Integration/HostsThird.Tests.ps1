# Guest C of the hosts boot (see Hosts.Common.ps1): a third kernel, which sees the shared NVDIMM as a devdax namespace
# (dax0.0; run-vm.sh --devdax). It says where dax0.0 starts, cannot mount what a stopped write left there, mounts the
# published image by device and reads every file identical to the source without spending page cache on it (against the
# same tree on tmpfs); then, while the other two kernels have sibling branches of the branching image mounted, it lists
# and compares both, and Write-DaxFsImage, Remove-DaxNamespace and New-DaxNamespace refuse that memory, naming them.

BeforeAll {
    . $PSScriptRoot/Hosts.Common.ps1
    $script:Dax = Get-DaxDevice -Name dax0.0
    $script:DataOffset = [uint64]$Dax.PhysicalAddress - $Phys
    $script:Mnt = New-MountPoint 'hosts-c'
    Send-Signal 'C-ready' ([pscustomobject]@{ DataOffset = $DataOffset; Device = $Dax.Name; Size = $Dax.Size } | ConvertTo-Json)
    $Measured.DataOffset = $DataOffset
}
AfterAll { Save-Measured 'C' }

Describe 'Mounting by device the memory another kernel writes (third kernel)' {
    It 'has dax0.0 on the shared NVDIMM, its data 2 MiB-aligned after the namespace''s metadata' {
        $DataOffset | Should -BeGreaterThan 0
        ($DataOffset % 2MB) | Should -Be 0
        $Dax.Size | Should -BeLessOrEqual ($NvdimmSize - $DataOffset)
    }
    It 'cannot mount by device the memory a stopped write left' {
        Wait-Signal 'A-stopped' 900
        try {
            $e = { Mount-DaxFs -Device dax0.0 -MountPoint $Mnt -Confirm:$false -ErrorAction Stop } |
                Should -Throw -ErrorId 'ImageFailsValidation,DaxFs.Commands.MountDaxFsCommand' -PassThru
            $e.Exception.Message | Should -Match 'IMG-INCOMPLETE-WRITE'
            & mount -t daxfs -o ('phys=0x{0:x},size={1}' -f $Dax.PhysicalAddress, $Hosts.ImageSize) none $Mnt 2>$null
            $LASTEXITCODE | Should -Not -Be 0 -Because 'the kernel refuses memory that does not start with the magic'
        }
        finally { Send-Signal 'C-refused-stopped' }
    }
    It 'mounts the published image by device and reads every file identical to the source, with no page cache spent' {
        Wait-Signal 'A-written' 900
        $m = Mount-DaxFs -Device dax0.0 -MountPoint $Mnt -Confirm:$false
        try {
            $m.PhysicalAddress | Should -Be $Dax.PhysicalAddress
            Invoke-Tool sync @() | Out-Null
            Clear-PageCache
            $before = Get-MemInfo
            $diff = Compare-Tree $Mnt
            $after = Get-MemInfo
            $diff | Should -BeNullOrEmpty
            # The same tree on tmpfs (what a host without DAXFS keeps in its memory): copied from the mount, then read.
            $tmp = New-MountPoint 'hosts-c-tmpfs'
            Invoke-Tool mount @('-t', 'tmpfs', '-o', 'size=128m', 'none', $tmp) | Out-Null
            try {
                Clear-PageCache
                $t0 = Get-MemInfo
                Invoke-Tool cp @('-a', "$Mnt/.", $tmp) | Out-Null
                $null = Get-ChildItem -LiteralPath $tmp -Recurse -File | ForEach-Object { Get-FileHash -LiteralPath $_.FullName -Algorithm SHA256 }
                $t1 = Get-MemInfo
            }
            finally { Invoke-Tool umount @($tmp) | Out-Null }
        }
        finally { Dismount-DaxFs -MountPoint $Mnt -Confirm:$false; Send-Signal 'C-read' }
        $Measured.PageCache = [ordered]@{
            FileBytesRead = $Hosts.FileBytes
            DaxfsCachedBefore = $before.Cached; DaxfsCachedAfter = $after.Cached; DaxfsCachedGrowth = $after.Cached - $before.Cached
            DaxfsMemAvailableBefore = $before.MemAvailable; DaxfsMemAvailableAfter = $after.MemAvailable; DaxfsMemAvailableDrop = $before.MemAvailable - $after.MemAvailable
            TmpfsCachedGrowth = $t1.Cached - $t0.Cached; TmpfsShmemGrowth = $t1.Shmem - $t0.Shmem; TmpfsMemAvailableDrop = $t0.MemAvailable - $t1.MemAvailable
        }
        Write-Host ("Page cache on the third kernel: reading {0:N0} bytes of files through daxfs (dax0.0) grew Cached by {1:N0} bytes (MemAvailable {2:-#,0;+#,0;0}); the same tree on tmpfs grew it by {3:N0} (Shmem +{4:N0}, MemAvailable {5:-#,0;+#,0;0})" -f
            $Hosts.FileBytes, $Measured.PageCache.DaxfsCachedGrowth, $Measured.PageCache.DaxfsMemAvailableDrop, $Measured.PageCache.TmpfsCachedGrowth, $Measured.PageCache.TmpfsShmemGrowth, $Measured.PageCache.TmpfsMemAvailableDrop)
        $Measured.PageCache.DaxfsCachedGrowth | Should -BeLessThan ($Hosts.FileBytes / 4)
        $Measured.PageCache.TmpfsShmemGrowth | Should -BeGreaterThan ($Hosts.FileBytes * 0.9) -Because 'tmpfs holds every byte of the tree in this kernel''s memory'
    }
}

Describe 'Sibling branches of two other kernels (third kernel)' {
    It 'lists both kernels'' branches from dax0.0 and shows each one''s changes' {
        Wait-Signal 'B-branched' 900
        try {
            $t = @(Get-DaxFsBranch /dev/dax0.0)
            $Measured.BranchesSeen = @($t | ForEach-Object { "$($_.Name):$($_.State)" })
            @($t | Where-Object { $_.Name -in 'brA', 'brB' -and $_.State -eq 'Active' }).Count | Should -Be 2
            $ca = @(Compare-DaxFsBranch /dev/dax0.0 -Branch brA)
            $cb = @(Compare-DaxFsBranch /dev/dax0.0 -Branch brB)
            $Measured.ChangesSeen = @($ca + $cb | ForEach-Object { "$($_.Branch) $($_.Change) $($_.Path)" })
            $ca.Path | Should -Contain '/new-A.txt'
            $cb.Path | Should -Contain '/new-B.txt'
            $ca.Path | Should -Not -Contain '/new-B.txt'
            # The items of a branch read through the memory as that branch shows them.
            (Get-DaxFsContent /dev/dax0.0 -Path /f1.txt -Branch brB) | Should -Be 'changed by B'
            (Get-DaxFsContent /dev/dax0.0 -Path /f1.txt -Branch brA) | Should -Be 'changed by A'
        }
        catch { Send-Signal 'C-checked'; throw }
    }
    It 'refuses to overwrite or reconfigure that memory, naming the other kernels'' active branches' {
        try {
            $e = { Write-DaxFsImage $Hosts.Image -Device dax0.0 -Confirm:$false -ErrorAction Stop } |
                Should -Throw -ErrorId 'ImageHasActiveBranches,DaxFs.Commands.WriteDaxFsImageCommand' -PassThru
            $Measured.WriteRefused = $e.Exception.Message
            $e.Exception.Message | Should -Match 'brA'
            $e.Exception.Message | Should -Match 'brB'
            $e = { Remove-DaxNamespace namespace0.0 -Confirm:$false -ErrorAction Stop } |
                Should -Throw -ErrorId 'ImageHasActiveBranches,DaxFs.Commands.RemoveDaxNamespaceCommand' -PassThru
            $Measured.RemoveRefused = $e.Exception.Message
            $e.Exception.Message | Should -Match 'brA.*brB|brB.*brA'
            $e = { New-DaxNamespace -Reconfigure namespace0.0 -Mode fsdax -Confirm:$false -ErrorAction Stop } |
                Should -Throw -ErrorId 'ImageHasActiveBranches,DaxFs.Commands.NewDaxNamespaceCommand' -PassThru
            $Measured.ReconfigureRefused = $e.Exception.Message
            $e.Exception.Message | Should -Match 'brA.*brB|brB.*brA'
            # Nothing changed: the namespace and the image are still there.
            (Get-DaxNamespace namespace0.0).Mode | Should -Be 'devdax'
            @(Get-DaxFsBranch /dev/dax0.0 | Where-Object { $_.Name -in 'brA', 'brB' -and $_.State -eq 'Active' }).Count | Should -Be 2
        }
        finally { Send-Signal 'C-checked' }
    }
    It 'sees brA committed and brB aborted after the commit' {
        Wait-Signal 'B-saw-stale' 900
        $t = @(Get-DaxFsBranch /dev/dax0.0 -WarningAction SilentlyContinue)
        $Measured.BranchesAfterCommit = @($t | ForEach-Object { "$($_.Name):$($_.State)" })
        ($t | Where-Object Name -eq 'brB').State | Should -Be 'Aborted'
        @($t | Where-Object State -eq 'Committed').Count | Should -Be 1
    }
}
