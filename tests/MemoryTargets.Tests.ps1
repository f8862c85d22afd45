# New-DmaBuf, Write-DaxFsImage and Save-DaxFsImage against the fake device host (DeviceHost.ps1): a dax device node is a
# sparse file, dma-bufs are memfds.
BeforeAll { . (Join-Path $PSScriptRoot 'DeviceHost.ps1') }
AfterAll { Restore-FakeHostEnvironment $SavedEnv }

Describe 'New-DmaBuf' {
    BeforeEach { $h = New-FakeHost }

    It 'returns a disposable handle with its size and heap' {
        $b = New-DmaBuf -Heap system -Size 5000 -Name 'daxfs-test'
        try {
            $b | Should -BeOfType DaxFs.DmaBuf
            $b | Should -BeOfType System.Runtime.InteropServices.SafeHandle
            $b.Size | Should -Be 8192
            $b.Heap | Should -Be 'system'
            $b.Name | Should -Be 'daxfs-test'
            $b.FileDescriptor | Should -BeGreaterThan 2
        }
        finally { $b.Dispose() }
        $b.IsClosed | Should -BeTrue
        $b.FileDescriptor | Should -Be -1
    }
    It 'refuses a name the kernel cannot hold' {
        { New-DmaBuf -Size 4096 -Name ('x' * 40) } | Should -Throw -ErrorId 'DmaBufNameTooLong,DaxFs.Commands.NewDmaBufCommand'
    }
    It 'names the heaps there are when the heap does not exist' {
        $heaps = New-Item -ItemType Directory (Join-Path $h.Root 'dev/dma_heap')
        New-Item (Join-Path $heaps 'cma') | Out-Null
        $env:DAXFS_DMA_HEAP = $heaps.FullName
        $e = { New-DmaBuf -Heap system -Size 4096 } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'DmaHeapNotFound,DaxFs.Commands.NewDmaBufCommand'
        $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $e.Exception.Message | Should -Match 'Heaps here: cma'
    }
    It 'allocates nothing under -WhatIf' {
        New-DmaBuf -Size 4096 -WhatIf | Should -BeNullOrEmpty
    }
}

Describe 'Write-DaxFsImage' {
    BeforeEach { $h = New-FakeHost; $image = [IO.File]::ReadAllBytes($Basic) }

    It 'writes into a dax device, verifies, and passes the placement on' {
        $r = Write-DaxFsImage $Basic -Device dax0.0 -PassThru -Confirm:$false
        $r | Should -BeOfType DaxFs.DaxFsMemoryImage
        $r.Verified | Should -BeTrue
        $r.TargetKind | Should -Be 'DaxDevice'
        $r.Device | Should -Be 'dax0.0'
        $r.PhysicalAddress | Should -Be 0x100a00000
        $r.Size | Should -Be 526385152
        $r.BytesWritten | Should -Be $image.Length
        $r.Sha256 | Should -Be (Get-Sha256 $image)
        Get-Sha256 (Read-Bytes $h.Node 0 $image.Length) | Should -Be (Get-Sha256 $image)
    }
    It 'writes nothing under -WhatIf' {
        Write-DaxFsImage $Basic -Device dax0.0 -WhatIf | Should -BeNullOrEmpty
        (Read-Bytes $h.Node 0 4096) | Where-Object { $_ -ne 0 } | Should -BeNullOrEmpty
    }
    It 'takes the image from Get-DaxFsImage and writes into a dma-buf' {
        $b = New-DmaBuf -Size 1MB
        try {
            $r = Get-DaxFsImage $Basic | Write-DaxFsImage -DmaBuf $b -PassThru -Confirm:$false
            $r.TargetKind | Should -Be 'DmaBuf'
            $r.DmaBuf | Should -Be $b
            $r.Verified | Should -BeTrue
        }
        finally { $b.Dispose() }
    }
    It 'refuses an image larger than the target before writing' {
        $b = New-DmaBuf -Size 4096
        try {
            $e = { Write-DaxFsImage $Basic -DmaBuf $b -Confirm:$false } | Should -Throw -PassThru
            $e.FullyQualifiedErrorId | Should -Be 'ImageLargerThanTarget,DaxFs.Commands.WriteDaxFsImageCommand'
            $e.CategoryInfo.Category | Should -Be 'LimitsExceeded'
        }
        finally { $b.Dispose() }
    }
    It 'refuses a disposed dma-buf' {
        $b = New-DmaBuf -Size 1MB
        $b.Dispose()
        { Write-DaxFsImage $Basic -DmaBuf $b -Confirm:$false } | Should -Throw -ErrorId 'DmaBufClosed,DaxFs.Commands.WriteDaxFsImageCommand'
    }
    It 'reports a missing device' {
        $e = { Write-DaxFsImage $Basic -Device dax9.9 -Confirm:$false } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'DaxDeviceNotFound,DaxFs.Commands.WriteDaxFsImageCommand'
        $e.TargetObject | Should -Be 'dax9.9'
        $e.Exception.Message | Should -Match 'Get-DaxDevice'
    }
    It 'refuses a device in system-ram mode' {
        Add-FakeDaxDevice $h.Root 'dax2.0' (4 * $MiB) 0x300000000 -Driver kmem -NoNode
        $e = { Write-DaxFsImage $Basic -Device dax2.0 -Confirm:$false } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'DaxDeviceInSystemRam,DaxFs.Commands.WriteDaxFsImageCommand'
        $e.Exception.Message | Should -Match 'Set-DaxDevice dax2.0 -Mode devdax'
    }
    It 'refuses memory a daxfs mount is using, unless -Force' {
        Set-Content $h.MountInfo "61 27 0:52 / /mnt/root ro,relatime - daxfs dax0.0 ro,phys=0x100a00000,size=526385152,static"
        $e = { Write-DaxFsImage $Basic -Device dax0.0 -Confirm:$false } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'TargetMounted,DaxFs.Commands.WriteDaxFsImageCommand'
        $e.CategoryInfo.Category | Should -Be 'ResourceBusy'
        $e.Exception.Message | Should -Match '/mnt/root'
        (Write-DaxFsImage $Basic -Device dax0.0 -Force -PassThru -Confirm:$false).Verified | Should -BeTrue
    }
    It 'refuses a file that is not an image' {
        $junk = Join-Path $TestDrive 'junk.daxfs'
        [IO.File]::WriteAllBytes($junk, [byte[]]::new(8192))
        { Write-DaxFsImage $junk -Device dax0.0 -Confirm:$false } | Should -Throw -ErrorId 'InvalidDaxFsImage.SB-MAGIC,DaxFs.Commands.WriteDaxFsImageCommand'
    }
    It 'writes at a physical address held by a dax device' {
        $r = Write-DaxFsImage $Basic -PhysicalAddress 0x100c00000 -Size 1MB -PassThru -Confirm:$false
        $r.TargetKind | Should -Be 'DaxDevice'
        $r.Target | Should -Match 'through dax0.0'
        Get-Sha256 (Read-Bytes $h.Node 2MB $image.Length) | Should -Be (Get-Sha256 $image)
    }
}

Describe 'Save-DaxFsImage' {
    BeforeEach {
        $h = New-FakeHost
        $image = [IO.File]::ReadAllBytes($Basic)
        $out = Join-Path $TestDrive ('saved-' + [guid]::NewGuid().ToString('n').Substring(0, 8) + '.daxfs')
    }

    It 'copies exactly the image at the start of a dax device into a file' {
        Write-DaxFsImage $Basic -Device dax0.0 -Confirm:$false
        $s = Save-DaxFsImage -Device dax0.0 -Destination $out
        $s | Should -BeOfType DaxFs.DaxFsImage
        $s.Path | Should -Be $out
        (Get-Item $out).Length | Should -Be $image.Length
        Get-Sha256 ([IO.File]::ReadAllBytes($out)) | Should -Be (Get-Sha256 $image)
        $s.TotalSize | Should -Be (Get-DaxFsImage $Basic).TotalSize
        Get-ChildItem (Split-Path $out) -Filter '.*.tmp' -Force | Should -BeNullOrEmpty
    }
    It 'copies from a physical range and from a mount''s range' {
        Write-DaxFsImage $Basic -PhysicalAddress 0x100c00000 -Size 1MB -Confirm:$false
        (Save-DaxFsImage -PhysicalAddress 0x100c00000 -Size 1MB -Destination $out).TotalSize | Should -Be $image.Length
        Set-Content $h.MountInfo "61 27 0:52 / /mnt/root ro,relatime - daxfs dax0.0 ro,phys=0x100c00000,size=1048576,static"
        $second = Join-Path $TestDrive 'from-mount.daxfs'
        (Get-DaxFsMount /mnt/root | Save-DaxFsImage -Destination $second).Path | Should -Be $second
        Get-Sha256 ([IO.File]::ReadAllBytes($second)) | Should -Be (Get-Sha256 $image)
    }
    It 'copies from a dma-buf' {
        $b = New-DmaBuf -Size 1MB
        try {
            Write-DaxFsImage $Basic -DmaBuf $b -Confirm:$false
            (Save-DaxFsImage -DmaBuf $b -Destination $out).Length | Should -Be $image.Length
        }
        finally { $b.Dispose() }
    }
    It 'refuses memory without an image, and leaves no file' {
        $e = { Save-DaxFsImage -Device dax0.0 -Destination $out } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'NoDaxFsImageAtTarget,DaxFs.Commands.SaveDaxFsImageCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidData'
        Test-Path $out | Should -BeFalse
    }
    It 'refuses an image that claims more bytes than the memory has' {
        $b = New-DmaBuf -Size 1MB
        try {
            $bytes = [byte[]]$image.Clone()
            [BitConverter]::GetBytes([uint64]8MB).CopyTo($bytes, 16)   # total_size: the u64 at offset 16
            $big = Join-Path $TestDrive 'claims-8MiB.daxfs'
            [IO.File]::WriteAllBytes($big, $bytes)
            Write-DaxFsImage $big -DmaBuf $b -Confirm:$false
            { Save-DaxFsImage -DmaBuf $b -Destination $out } | Should -Throw -ErrorId 'ImageLargerThanTarget,DaxFs.Commands.SaveDaxFsImageCommand'
            Test-Path $out | Should -BeFalse
        }
        finally { $b.Dispose() }
    }
    It 'keeps an existing file unless -Force, and writes nothing under -WhatIf' {
        Write-DaxFsImage $Basic -Device dax0.0 -Confirm:$false
        Set-Content $out 'keep me'
        { Save-DaxFsImage -Device dax0.0 -Destination $out } | Should -Throw -ErrorId 'DestinationExists,DaxFs.Commands.SaveDaxFsImageCommand'
        Save-DaxFsImage -Device dax0.0 -Destination $out -Force -WhatIf | Should -BeNullOrEmpty
        Get-Content $out | Should -Be 'keep me'
        (Save-DaxFsImage -Device dax0.0 -Destination $out -Force).Length | Should -Be $image.Length
    }
    It 'reports a missing device' {
        { Save-DaxFsImage -Device dax9.9 -Destination $out } | Should -Throw -ErrorId 'DaxDeviceNotFound,DaxFs.Commands.SaveDaxFsImageCommand'
    }
}

Describe 'The memory-target parameters' {
    # Declared once (DaxMemoryTargetCmdlet) for the three cmdlets about an image in memory, so they cannot drift (#17).
    BeforeAll {
        function Get-TargetShape([string] $Command) {
            $cmd = Get-Command $Command
            foreach ($name in 'Device', 'PhysicalAddress', 'Size', 'DmaBuf') {
                $p = $cmd.Parameters[$name]
                foreach ($a in $p.Attributes | Where-Object { $_ -is [Management.Automation.ParameterAttribute] } | Sort-Object ParameterSetName) {
                    $other = ($p.Attributes | Where-Object { $_ -isnot [Management.Automation.ParameterAttribute] } | ForEach-Object { $_.GetType().Name } | Sort-Object) -join '+'
                    "-$name [$($p.ParameterType.Name)] set $($a.ParameterSetName) mandatory $($a.Mandatory) byValue $($a.ValueFromPipeline) byName $($a.ValueFromPipelineByPropertyName) $other"
                }
            }
            "default set $($cmd.DefaultParameterSet)"
        }
    }

    It 'are the same in Mount-DaxFs, Save-DaxFsImage and Write-DaxFsImage' {
        $mount = Get-TargetShape Mount-DaxFs
        $mount | Should -Contain '-Device [String] set Device mandatory True byValue False byName True ArgumentCompleterAttribute+ValidateNotNullOrEmptyAttribute'
        $mount | Should -Contain '-DmaBuf [DmaBuf] set DmaBuf mandatory True byValue True byName False '
        $mount | Should -Contain '-Size [UInt64] set PhysicalAddress mandatory True byValue False byName True ValidateRangeAttribute'
        $mount | Should -Contain 'default set Device'
        Get-TargetShape Save-DaxFsImage | Should -Be $mount
        Get-TargetShape Write-DaxFsImage | Should -Be $mount
    }

    It 'each set of the three names one kind of memory' {
        foreach ($c in 'Mount-DaxFs', 'Save-DaxFsImage', 'Write-DaxFsImage') {
            $sets = (Get-Command $c).ParameterSets
            foreach ($s in @{ Device = @('Device'); PhysicalAddress = @('PhysicalAddress', 'Size'); DmaBuf = @('DmaBuf') }.GetEnumerator()) {
                $set = $sets | Where-Object Name -eq $s.Key
                $set | Should -Not -BeNullOrEmpty -Because "$c has the $($s.Key) set"
                @($set.Parameters.Name | Where-Object { $_ -in 'Device', 'PhysicalAddress', 'Size', 'DmaBuf' }) | Should -Be $s.Value -Because "$c's $($s.Key) set"
            }
        }
    }

    It 'bind from the pipeline in Write-DaxFsImage as in the others: what -PassThru returned writes the same memory again' {
        $h = New-FakeHost
        $first = Write-DaxFsImage $Basic -Device dax0.0 -PassThru -Confirm:$false
        $again = $first | Write-DaxFsImage -PassThru -Confirm:$false
        $again.Device | Should -Be 'dax0.0'
        $again.Sha256 | Should -Be $first.Sha256
        $b = New-DmaBuf -Size 1MB
        try {
            Write-DaxFsImage $Basic -DmaBuf $b -Confirm:$false
            ($b | Save-DaxFsImage -Destination (Join-Path $TestDrive 'from-pipe.daxfs')).Length | Should -Be ([IO.FileInfo]$Basic).Length
        }
        finally { $b.Dispose() }
    }
}
