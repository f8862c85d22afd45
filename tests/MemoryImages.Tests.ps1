# The reading cmdlets (Get-DaxFsBranch, Get-DaxFsItem, Get-DaxFsContent, Compare-DaxFsBranch) on an image in memory
# instead of a file: a block device node (/dev/pmem0), a dax device node (/dev/dax0.0), a dma-buf, and a daxfs mount
# point (its phys= range). Files stand in for the memory here: a fake /dev and sysfs (DAXFS_DEV_ROOT, DAXFS_SYSFS_ROOT),
# memfd dma-bufs (DAXFS_DMA_HEAP=memfd) and a mountinfo file (DAXFS_MOUNTINFO). Each source must show exactly what the
# same image shows as a file: the kernel-made nested.daxfs (main, a committed child, feature <- main, deep <- feature).
# The real devices are read in the VM (tests/Integration/Branches.Tests.ps1 and Devices.Tests.ps1).
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Nested = Join-Path $PSScriptRoot 'fixtures/branches/nested.daxfs'
    $script:Phys = 0x200000
    $script:Size = (Get-Item $Nested).Length
    $script:SavedEnv = Save-FakeHostEnvironment

    # A fake host: the image at the start of dev/pmem0 (8 MiB block device) and dev/dax0.0 (8 MiB, align 2 MiB), and at
    # $Phys in dev/mem, where a mountinfo line shows it mounted (main) at mnt/main.
    $root = Join-Path $TestDrive 'host'
    New-Item -ItemType Directory -Force "$root/dev", "$root/mnt/main", "$root/sys/class/block/pmem0", "$root/sys/bus/dax/devices/dax0.0", "$root/sys/bus/dax/drivers/device_dax" | Out-Null
    $bytes = [IO.File]::ReadAllBytes($Nested)
    function Write-Memory([string] $Path, [long] $Length, [long] $Offset = 0) {
        $f = [IO.File]::Create($Path)
        try { $f.SetLength($Length); $f.Seek($Offset, 'Begin') | Out-Null; $f.Write($bytes, 0, $bytes.Length) } finally { $f.Dispose() }
    }
    Write-Memory "$root/dev/pmem0" 8MB
    Set-Content "$root/sys/class/block/pmem0/size" (8MB / 512)
    Write-Memory "$root/dev/dax0.0" 8MB
    @{ size = 8MB; align = 2MB; resource = '0x100a00000' }.GetEnumerator() | ForEach-Object { Set-Content "$root/sys/bus/dax/devices/dax0.0/$($_.Key)" $_.Value }
    New-Item -ItemType SymbolicLink -Path "$root/sys/bus/dax/devices/dax0.0/driver" -Target "$root/sys/bus/dax/drivers/device_dax" | Out-Null
    Write-Memory "$root/dev/mem" ($Phys + 8MB) $Phys
    Set-Content "$root/dev/empty0" -Value ''
    New-Item -ItemType Directory -Force "$root/sys/class/block/empty0" | Out-Null
    Set-Content "$root/sys/class/block/empty0/size" 8
    $f = [IO.File]::Create("$root/dev/empty0"); try { $f.SetLength(4096) } finally { $f.Dispose() }
    Set-Content "$root/mountinfo" "40 1 0:40 / $root/mnt/main rw,relatime - daxfs none ro,phys=0x$('{0:x}' -f $Phys),size=$Size,branch=/main"
    Set-FakeHostEnvironment -SysfsRoot $root -DevRoot "$root/dev" -MountInfo "$root/mountinfo" -AssumeRoot 1 -DmaHeap memfd
    $script:Root = $root

    function Get-Shape($Items) { @($Items | ForEach-Object { '{0} {1} {2} {3} {4}' -f $_.FullName, $_.Type, $_.Mode, $_.Size, $_.Target }) }
    function Get-BranchShape($Branches) { @($Branches | ForEach-Object { '{0} {1} {2} {3} {4} {5}' -f $_.Name, $_.Id, $_.ParentId, $_.State, $_.LogUsed, $_.EntryCount }) }
    $script:FileBranches = Get-BranchShape (Get-DaxFsBranch $Nested)
    $script:FileItems = Get-Shape (Get-DaxFsItem $Nested -Branch deep -Recurse -WarningAction SilentlyContinue)
    $script:FileChanges = @(Compare-DaxFsBranch $Nested -Branch deep | ForEach-Object { "$($_.Change) $($_.Path)" })
}

AfterAll {
    Restore-FakeHostEnvironment $SavedEnv
}

Describe 'Reading cmdlets on an image in memory' {
    It 'reads a block device node (/dev/pmem0): branches, a branch view, content, and changes as the file shows them' {
        $node = "$Root/dev/pmem0"
        $b = Get-DaxFsBranch $node -Verbose 4>&1
        ($b | Where-Object { $_ -is [Management.Automation.VerboseRecord] }).Message | Should -Match 'memory of pmem0 \(\d+ bytes, mapped read-only\)'
        Get-BranchShape ($b | Where-Object { $_ -isnot [Management.Automation.VerboseRecord] }) | Should -Be $FileBranches
        Get-Shape (Get-DaxFsItem $node -Branch deep -Recurse -WarningAction SilentlyContinue) | Should -Be $FileItems
        @(Compare-DaxFsBranch $node -Branch deep | ForEach-Object { "$($_.Change) $($_.Path)" }) | Should -Be $FileChanges
        $files = @(Get-DaxFsItem $Nested -Branch deep -Recurse -Type File -WarningAction SilentlyContinue)
        $files.Count | Should -BeGreaterThan 0
        foreach ($f in $files) {
            $want = [Convert]::ToHexString([byte[]](Get-DaxFsContent $Nested $f.FullName -Branch deep -AsByteStream -Raw))
            [Convert]::ToHexString([byte[]](Get-DaxFsContent $node $f.FullName -Branch deep -AsByteStream -Raw)) | Should -Be $want -Because $f.FullName
        }
        # Items carry the node as their image: piped on, they are read from the memory again.
        $viaItems = Get-DaxFsItem $node -Branch deep -Recurse -Type File -WarningAction SilentlyContinue | ForEach-Object { [Convert]::ToHexString([byte[]]($_ | Get-DaxFsContent -AsByteStream -Raw)) }
        $viaItems.Count | Should -Be $files.Count
        (Get-DaxFsItem $node -Recurse | Select-Object -First 1).ImagePath | Should -Be $node
    }

    It 'reads a dax device node (/dev/dax0.0) in multiples of its align' {
        $b = Get-DaxFsBranch "$Root/dev/dax0.0" -Verbose 4>&1
        ($b | Where-Object { $_ -is [Management.Automation.VerboseRecord] }).Message | Should -Match 'memory of dax0.0 \(\d+ bytes, mapped read-only\)'
        Get-BranchShape ($b | Where-Object { $_ -isnot [Management.Automation.VerboseRecord] }) | Should -Be $FileBranches
        Get-Shape (Get-DaxFsItem "$Root/dev/dax0.0" -Branch deep -Recurse -WarningAction SilentlyContinue) | Should -Be $FileItems
    }

    It 'reads a dma-buf, also through items piped on from Get-DaxFsItem' {
        $buf = New-DmaBuf -Size 8MB -Confirm:$false
        try {
            Write-DaxFsImage $Nested -DmaBuf $buf -Confirm:$false | Out-Null
            Get-BranchShape (Get-DaxFsBranch $buf) | Should -Be $FileBranches
            (Get-DaxFsBranch $buf -Name feature).ImagePath | Should -Be "$buf"
            Get-Shape (Get-DaxFsItem $buf -Branch deep -Recurse -WarningAction SilentlyContinue) | Should -Be $FileItems
            $first = Get-DaxFsItem $Nested -Branch deep -Recurse -Type File -WarningAction SilentlyContinue | Select-Object -First 1
            $want = [Convert]::ToHexString([byte[]]($first | Get-DaxFsContent -AsByteStream -Raw))
            $item = Get-DaxFsItem $buf $first.FullName -Branch deep
            [Convert]::ToHexString([byte[]]($item | Get-DaxFsContent -AsByteStream -Raw)) | Should -Be $want
            @(Compare-DaxFsBranch $buf -Branch deep | ForEach-Object { "$($_.Change) $($_.Path)" }) | Should -Be $FileChanges
        }
        finally { $buf.Dispose() }
        { Get-DaxFsBranch $buf -ErrorAction Stop } | Should -Throw -ErrorId 'DmaBufClosed,DaxFs.Commands.GetDaxFsBranchCommand'
    }

    It 'never reads an item of a disposed dma-buf from a newer buffer that reuses its fd' {
        # Items carry only their image's name (ImagePath). A newer buffer of the same heap and size gets the freed fd
        # number: the old item must find no buffer (DmaBufClosed), not the newer one's memory.
        $old = New-DmaBuf -Size 8MB -Confirm:$false
        Write-DaxFsImage $Nested -DmaBuf $old -Confirm:$false | Out-Null
        $item = Get-DaxFsItem $old /data/app.txt
        ($item | Get-DaxFsContent -Raw) | Should -Be (Get-DaxFsContent $Nested /data/app.txt -Raw)
        $fd = $old.FileDescriptor
        $oldName = "$old"
        $old.Dispose()
        New-Item -ItemType Directory "$TestDrive/other/data" | Out-Null
        Set-Content -NoNewline -LiteralPath "$TestDrive/other/data/app.txt" -Value 'not the old buffer'
        $other = New-DaxFsImage "$TestDrive/other" "$TestDrive/other.daxfs"
        $new = New-DmaBuf -Size 8MB -Confirm:$false
        try {
            $new.FileDescriptor | Should -Be $fd -Because 'the newer buffer reuses the freed fd (the lowest free number)'
            Write-DaxFsImage $other -DmaBuf $new -Confirm:$false | Out-Null
            (Get-DaxFsItem $new /data/app.txt | Get-DaxFsContent -Raw) | Should -Be 'not the old buffer'
            $e = { $item | Get-DaxFsContent -Raw -ErrorAction Stop } | Should -Throw -PassThru
            $e.FullyQualifiedErrorId | Should -Be 'DmaBufClosed,DaxFs.Commands.GetDaxFsContentCommand'
            $e.Exception.Message | Should -BeLike "*$oldName has been disposed*"
            { Get-DaxFsItem $item.ImagePath -ErrorAction Stop } | Should -Throw -ErrorId 'DmaBufClosed,DaxFs.Commands.GetDaxFsItemCommand'
            $new.Id | Should -BeGreaterThan $old.Id
            "$new" | Should -Not -Be $oldName
        }
        finally { $new.Dispose() }
    }

    It 'reads the memory of a daxfs mount, given as its folder or as a DaxFsMount' {
        Get-BranchShape (Get-DaxFsBranch "$Root/mnt/main") | Should -Be $FileBranches
        Get-BranchShape (Get-DaxFsMount "$Root/mnt/main" | Get-DaxFsBranch) | Should -Be $FileBranches
        Get-Shape (Get-DaxFsItem (Get-DaxFsMount "$Root/mnt/main") -Branch deep -Recurse -WarningAction SilentlyContinue) | Should -Be $FileItems
        @(Compare-DaxFsBranch "$Root/mnt/main" -Branch deep | ForEach-Object { "$($_.Change) $($_.Path)" }) | Should -Be $FileChanges
    }

    It 'refuses memory without an image, and a folder that is no daxfs mount, with errors that say so' {
        { Get-DaxFsItem "$Root/dev/empty0" -ErrorAction Stop } | Should -Throw -ErrorId 'NoDaxFsImageAtTarget,DaxFs.Commands.GetDaxFsItemCommand'
        $err = $null
        try { Get-DaxFsBranch "$Root/dev/empty0" -ErrorAction Stop } catch { $err = $_ }
        $err.CategoryInfo.Category | Should -Be 'InvalidData'
        $err.TargetObject | Should -Be 'empty0'
        { Get-DaxFsItem "$Root/mnt" -ErrorAction Stop } | Should -Throw -ErrorId 'ImageIsDirectory,DaxFs.Commands.GetDaxFsItemCommand'
    }
}
