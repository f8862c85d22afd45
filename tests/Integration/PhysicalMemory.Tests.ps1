# The memory and mount cmdlets on physical ranges, in the kernel: the NVDIMM as one raw namespace (/dev/pmem0, which
# Debian's kernel keeps out of /dev/mem). Images lie in the NVDIMM where Invoke-Integration.ps1 put them; the scratch
# area after them (zeros) is where these tests write. At the end New-DaxNamespace -Reconfigure turns the namespace
# into devdax and fsdax. Boot: raw, after Writer.Tests.ps1.

BeforeAll {
    . $PSScriptRoot/Guest.Common.ps1
    $script:Mnt = New-MountPoint 'phys'
    $script:Basic = Get-TestImage 'basic.static'
    $script:Scratch = $script:Phys + [uint64]$script:Manifest.ScratchOffset
    $script:ScratchSize = [uint64]$script:Manifest.ScratchSize
    function Get-Address($Image) { $script:Phys + [uint64]$Image.Offset }
    function Get-FileSha([string] $Path) { (Get-FileHash -Algorithm SHA256 -LiteralPath $Path).Hash.ToLowerInvariant() }
    # SHA-256 of $Length bytes of /dev/pmem0 from $Offset, read with O_DIRECT: what the memory holds, not a cache.
    function Get-PmemHash([uint64] $Offset, [long] $Length) {
        $cmd = "dd if=/dev/pmem0 bs=4096 skip=$($Offset / 4096) count=$([math]::Ceiling($Length / 4096)) iflag=direct status=none | head -c $Length | sha256sum"
        ((Invoke-Tool sh @('-c', $cmd)) -split ' ')[0]
    }
}

AfterAll { Clear-Mount $script:Mnt }

Describe 'Namespaces and devices of the label-less NVDIMM in raw mode' {
    It 'Get-DaxNamespace returns the one raw namespace as ndctl lists it' {
        $tool = @(Invoke-Tool ndctl @('list', '--namespaces') | Out-String | ConvertFrom-Json)
        $ns = @(Get-DaxNamespace -ErrorAction Stop)
        $ns.Count | Should -Be $tool.Count
        $ns.Count | Should -Be 1
        $ns[0].Name | Should -Be $tool[0].dev
        $ns[0].Mode | Should -Be 'raw'
        $ns[0].Size | Should -Be $tool[0].size
        $ns[0].Size | Should -Be $script:NvdimmSize
        $ns[0].BlockDevice | Should -Be 'pmem0'
    }

    It 'Get-DaxDevice returns nothing, and no error, when there is no dax device' {
        $err = $null
        @(Get-DaxDevice -ErrorVariable err).Count | Should -Be 0
        $err | Should -BeNullOrEmpty
    }
}

Describe 'Write-DaxFsImage and Mount-DaxFs on physical ranges' {
    AfterEach { Clear-Mount $script:Mnt }

    It 'Write-DaxFsImage -PhysicalAddress writes through /dev/pmem0 at the right offset and verifies the bytes' {
        Get-PmemHash $script:Manifest.ScratchOffset $script:Basic.Length | Should -Not -Be (Get-FileSha $script:Basic.Image) -Because 'the scratch area starts as zeros'
        $w = Write-DaxFsImage $script:Basic.Image -PhysicalAddress $script:Scratch -Size $script:ScratchSize -PassThru -Confirm:$false
        $w.TargetKind | Should -Be 'PhysicalRange'
        $w.Target | Should -Match 'through pmem0'
        $w.PhysicalAddress | Should -Be $script:Scratch
        $w.Verified | Should -BeTrue
        $w.BytesWritten | Should -Be $script:Basic.Length
        $w.Sha256 | Should -Be (Get-FileSha $script:Basic.Image)
        Get-PmemHash $script:Manifest.ScratchOffset $script:Basic.Length | Should -Be (Get-FileSha $script:Basic.Image)
    }

    It 'Mount-DaxFs -PhysicalAddress -Size mounts what it wrote, read-only; the tree is the source tree' {
        $m = Mount-DaxFs -PhysicalAddress $script:Scratch -Size $script:ScratchSize -MountPoint $script:Mnt -Confirm:$false -ErrorAction Stop
        $m.MountPoint | Should -Be $script:Mnt
        $m.ReadOnly | Should -BeTrue
        $m.Static | Should -BeTrue
        $m.PhysicalAddress | Should -Be $script:Scratch
        $m.Size | Should -Be $script:ScratchSize
        (Compare-WithSource $script:Mnt $script:Basic.Listing) -join "`n" | Should -BeNullOrEmpty
    }

    It 'Get-DaxFsMount lists mounts with their options, and Dismount-DaxFs takes them from the pipeline' {
        $second = New-MountPoint 'phys2'
        Mount-DaxFs -PhysicalAddress $script:Scratch -Size $script:Basic.TotalSize -MountPoint $script:Mnt -Name itest -Confirm:$false -ErrorAction Stop | Out-Null
        $wide = Get-TestImage 'wide.static'
        Mount-DaxFs -PhysicalAddress (Get-Address $wide) -Size $wide.TotalSize -MountPoint $second -Confirm:$false -ErrorAction Stop | Out-Null
        $mounts = @(Get-DaxFsMount | Sort-Object MountPoint)
        $mounts.Count | Should -Be 2
        $mounts[0].MountPoint | Should -Be $script:Mnt
        $mounts[0].PhysicalAddress | Should -Be $script:Scratch
        $mounts[0].Size | Should -Be $script:Basic.TotalSize
        $mounts[0].Name | Should -Be 'itest'
        $mounts[1].MountPoint | Should -Be $second
        $mounts[1].PhysicalAddress | Should -Be (Get-Address $wide)
        $mounts | ForEach-Object { $_.Static | Should -BeTrue }
        Get-DaxFsMount | Dismount-DaxFs -Confirm:$false -ErrorAction Stop
        @(Get-DaxFsMount).Count | Should -Be 0
        Get-Content /proc/self/mountinfo | Where-Object { $_ -match ' daxfs ' } | Should -BeNullOrEmpty
    }

    It 'Write-DaxFsImage -PassThru | Mount-DaxFs mounts the range it wrote' {
        $deep = Get-TestImage 'deep.static'
        $m = Write-DaxFsImage $deep.Image -PhysicalAddress $script:Scratch -Size $script:ScratchSize -PassThru -Confirm:$false |
            Mount-DaxFs -MountPoint $script:Mnt -Confirm:$false -ErrorAction Stop
        $m.PhysicalAddress | Should -Be $script:Scratch
        (Compare-WithSource $script:Mnt $deep.Listing) -join "`n" | Should -BeNullOrEmpty
        Dismount-DaxFs $script:Mnt -Confirm:$false -ErrorAction Stop
        @(Get-DaxFsMount).Count | Should -Be 0
    }

    It 'mounts a split image with -BackingFile' {
        $i = Get-TestImage 'names-1101.split'
        $m = Mount-DaxFs -PhysicalAddress (Get-Address $i) -Size $i.TotalSize -BackingFile $i.Backing -MountPoint $script:Mnt -Confirm:$false -ErrorAction Stop
        $m.HasBackingFile | Should -BeTrue
        (Compare-WithSource $script:Mnt $i.Listing) -join "`n" | Should -BeNullOrEmpty
    }

    It 'mounts a branching image on its main branch, which the kernel keeps read-only' {
        $i = Get-TestImage 'modes-2202.branching'
        $m = Mount-DaxFs -PhysicalAddress (Get-Address $i) -Size $i.TotalSize -MountPoint $script:Mnt -Confirm:$false -ErrorAction Stop
        $m.ReadOnly | Should -BeTrue
        $m.Static | Should -BeFalse
        $m.Branch | Should -Match 'main'
        (Compare-WithSource $script:Mnt $i.Listing) -join "`n" | Should -BeNullOrEmpty
    }

    It 'Mount-DaxFs -Validate on <Name>: the kernel refuses it and the error carries its reason (<Reason>)' -ForEach @(
        @{ Name = 'basic.static'; Reason = 'inode 1 nlink mismatch: nlink=\d+ refcount=0' }
        @{ Name = 'names-1101.branching'; Reason = 'inode 1 nlink mismatch: nlink=\d+ refcount=0' }
        @{ Name = 'mixed-4404.split'; Reason = 'inode \d+ has invalid data offset' }) {
        $i = Get-TestImage $Name
        $extra = @{}
        if ($i.Backing) { $extra.BackingFile = $i.Backing }
        $log = [DaxFs.TreeTools.KernelLog]::FromNow()
        try {
            $e = { Mount-DaxFs -PhysicalAddress (Get-Address $i) -Size $i.TotalSize -MountPoint $script:Mnt -Validate @extra -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue } |
                Should -Throw -ErrorId 'MountFailed,DaxFs.Commands.MountDaxFsCommand' -PassThru
            $log.ReadNew() -join "`n" | Should -Match "daxfs: $Reason"
            $e.Exception.Message | Should -Match "The kernel said: daxfs: $Reason"
        }
        finally { $log.Dispose() }
        @(Get-DaxFsMount).Count | Should -Be 0
        # Without -Validate the same memory mounts.
        Mount-DaxFs -PhysicalAddress (Get-Address $i) -Size $i.TotalSize -MountPoint $script:Mnt @extra -Confirm:$false -ErrorAction Stop | Out-Null
        (Compare-WithSource $script:Mnt $i.Listing) -join "`n" | Should -BeNullOrEmpty
    }

    It 'refuses a size below the image''s total size before the kernel sees it' {
        $i = Get-TestImage 'big.static'
        { Mount-DaxFs -PhysicalAddress (Get-Address $i) -Size ($i.TotalSize - 4096) -MountPoint $script:Mnt -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'ImageLargerThanMountSize,DaxFs.Commands.MountDaxFsCommand'
        @(Get-DaxFsMount).Count | Should -Be 0
    }

    It 'refuses to write an image larger than the range, and over a mounted range without -Force' {
        { Write-DaxFsImage $script:Basic.Image -PhysicalAddress $script:Scratch -Size 8192 -Confirm:$false } | Should -Throw -ErrorId 'ImageLargerThanTarget,DaxFs.Commands.WriteDaxFsImageCommand'
        Write-DaxFsImage $script:Basic.Image -PhysicalAddress $script:Scratch -Size $script:ScratchSize -Confirm:$false
        Mount-DaxFs -PhysicalAddress $script:Scratch -Size $script:Basic.TotalSize -MountPoint $script:Mnt -Confirm:$false -ErrorAction Stop | Out-Null
        { Write-DaxFsImage $script:Basic.Image -PhysicalAddress $script:Scratch -Size $script:ScratchSize -Confirm:$false } | Should -Throw -ErrorId 'TargetMounted,DaxFs.Commands.WriteDaxFsImageCommand'
    }
}

Describe 'New-DaxNamespace -Reconfigure on the label-less NVDIMM' {
    It 'turns the raw namespace into devdax: dax0.0 appears, above the region start' {
        $ns = New-DaxNamespace -Reconfigure namespace0.0 -Mode devdax -Confirm:$false -ErrorAction Stop
        $ns.Mode | Should -Be 'devdax'
        $ns.Device | Should -Be 'dax0.0'
        $d = Get-DaxDevice -Name dax0.0 -ErrorAction Stop
        $d.Mode | Should -Be 'devdax'
        $d.Size | Should -Be $ns.Size
        $d.PhysicalAddress | Should -Be ([uint64](Get-Content /sys/bus/dax/devices/dax0.0/resource))
        $d.PhysicalAddress | Should -BeGreaterThan $script:Phys
        Test-Path /dev/dax0.0 | Should -BeTrue
    }

    It 'and into fsdax: a pmem block device again, no dax device' {
        $ns = New-DaxNamespace -Reconfigure namespace0.0 -Mode fsdax -Confirm:$false -ErrorAction Stop
        $ns.Mode | Should -Be 'fsdax'
        $ns.BlockDevice | Should -Match '^pmem0'
        @(Get-DaxDevice).Count | Should -Be 0
    }
}
