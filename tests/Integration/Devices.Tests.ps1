# The device, dma-buf and mount cmdlets for real: the NVDIMM as a devdax namespace (dax0.0, run-vm.sh --devdax),
# daxctl/ndctl output as the tools print it, the system dma-heap, mount(2) and the new mount API.
# Boot: devdax (run through Invoke-Integration.ps1).

BeforeAll {
    . $PSScriptRoot/Guest.Common.ps1
    $script:Mnt = New-MountPoint 'dev'
    # Images are read twice by Write-DaxFsImage (write, verify): copies on tmpfs spare the slow 9p share.
    $script:Local = New-MountPoint 'images'
    function Copy-TestImage([string] $Name) {
        $i = Get-TestImage $Name
        $to = Join-Path $script:Local ([IO.Path]::GetFileName($i.Image))
        if (-not (Test-Path -LiteralPath $to)) { [IO.File]::Copy($i.Image, $to) }
        $i | Select-Object *, @{ n = 'Local'; e = { $to } }
    }
    $script:Basic = Copy-TestImage 'basic.static'
    $script:Wide = Copy-TestImage 'wide.static'
    $script:Split = Copy-TestImage 'names-1101.split'
    $script:DevPhys = [uint64](Get-Content /sys/bus/dax/devices/dax0.0/resource)
    $script:DevSize = [uint64](Get-Content /sys/bus/dax/devices/dax0.0/size)
    function Get-FileSha([string] $Path) { (Get-FileHash -Algorithm SHA256 -LiteralPath $Path).Hash.ToLowerInvariant() }
}

AfterAll { Clear-Mount $script:Mnt }

Describe 'Devices and namespaces as daxctl and ndctl report them' {
    It 'Get-DaxDevice returns dax0.0 as daxctl lists it, with its sysfs address' {
        $tool = @(Invoke-Tool daxctl @('list', '--devices') | Out-String | ConvertFrom-Json)
        $d = @(Get-DaxDevice -ErrorAction Stop)
        $d.Count | Should -Be 1
        $d[0].Name | Should -Be $tool[0].chardev
        $d[0].Path | Should -Be '/dev/dax0.0'
        $d[0].Mode | Should -Be 'devdax'
        $d[0].Size | Should -Be $tool[0].size
        $d[0].Size | Should -Be $script:DevSize
        $d[0].Align | Should -Be $tool[0].align
        $d[0].PhysicalAddress | Should -Be $script:DevPhys
        @($d[0].Mappings).Count | Should -BeLessOrEqual 1
    }

    It 'Get-DaxDevice -Name for a missing device is a DaxDeviceNotFound error' {
        { Get-DaxDevice -Name dax9.9 -ErrorAction Stop } | Should -Throw -ErrorId 'DaxDeviceNotFound,DaxFs.Commands.GetDaxDeviceCommand'
    }

    It 'Get-DaxNamespace returns the devdax namespace as ndctl lists it' {
        $tool = @(Invoke-Tool ndctl @('list', '--namespaces') | Out-String | ConvertFrom-Json)
        $ns = @(Get-DaxNamespace -ErrorAction Stop)
        $ns.Count | Should -Be 1
        $ns[0].Name | Should -Be $tool[0].dev
        $ns[0].Mode | Should -Be 'devdax'
        $ns[0].Device | Should -Be 'dax0.0'
        $ns[0].Size | Should -Be $tool[0].size
    }
}

Describe 'Write-DaxFsImage and Mount-DaxFs with dax0.0' {
    AfterEach { Clear-Mount $script:Mnt }

    It 'Write-DaxFsImage -Device writes the image through a MAP_SHARED window and verifies it' {
        $w = Write-DaxFsImage $script:Basic.Local -Device dax0.0 -PassThru -Confirm:$false
        $w.TargetKind | Should -Be 'DaxDevice'
        $w.Device | Should -Be 'dax0.0'
        $w.PhysicalAddress | Should -Be $script:DevPhys
        $w.Verified | Should -BeTrue
        $w.Sha256 | Should -Be (Get-FileSha $script:Basic.Local)
    }

    It 'Mount-DaxFs -Device mounts the device''s range; Get-DaxFsMount shows it; Dismount-DaxFs removes it' {
        $m = Mount-DaxFs -Device dax0.0 -MountPoint $script:Mnt -Confirm:$false -ErrorAction Stop
        $m.PhysicalAddress | Should -Be $script:DevPhys
        $m.Size | Should -Be $script:DevSize
        $m.ReadOnly | Should -BeTrue
        $m.Static | Should -BeTrue
        (Compare-WithSource $script:Mnt $script:Basic.Listing) -join "`n" | Should -BeNullOrEmpty
        $listed = @(Get-DaxFsMount)
        $listed.Count | Should -Be 1
        $listed[0].MountPoint | Should -Be $script:Mnt
        $listed[0].PhysicalAddress | Should -Be $script:DevPhys
        Dismount-DaxFs $script:Mnt -Confirm:$false -ErrorAction Stop
        @(Get-DaxFsMount).Count | Should -Be 0
    }

    It 'Write-DaxFsImage refuses a device with a live mount, unless -Force' {
        Mount-DaxFs -Device dax0.0 -MountPoint $script:Mnt -Confirm:$false -ErrorAction Stop | Out-Null
        { Write-DaxFsImage $script:Basic.Local -Device dax0.0 -Confirm:$false } | Should -Throw -ErrorId 'TargetMounted,DaxFs.Commands.WriteDaxFsImageCommand'
        $w = Write-DaxFsImage $script:Basic.Local -Device dax0.0 -Force -PassThru -Confirm:$false
        $w.Verified | Should -BeTrue
    }

    It 'Mount-DaxFs -Device -Validate: the kernel refuses the image; its log says nothing names the root' {
        Write-DaxFsImage $script:Wide.Local -Device dax0.0 -Confirm:$false
        $log = [DaxFs.TreeTools.KernelLog]::FromNow()
        try {
            $e = { Mount-DaxFs -Device dax0.0 -MountPoint $script:Mnt -Validate -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue } |
                Should -Throw -ErrorId 'MountFailed,DaxFs.Commands.MountDaxFsCommand' -PassThru
            $log.ReadNew() -join "`n" | Should -Match 'daxfs: inode 1 nlink mismatch: nlink=\d+ refcount=0'
            $e.Exception.Message | Should -Match 'The kernel said: daxfs: inode 1 nlink mismatch: nlink=\d+ refcount=0'
            $warned = @(Mount-DaxFs -Device dax0.0 -MountPoint $script:Mnt -Validate -WhatIf 3>&1 | Where-Object { $_ -is [Management.Automation.WarningRecord] })
            "$warned" | Should -Match 'no entry names the root directory'
        }
        finally { $log.Dispose() }
        @(Get-DaxFsMount).Count | Should -Be 0
        Mount-DaxFs -Device dax0.0 -MountPoint $script:Mnt -Confirm:$false -ErrorAction Stop | Out-Null
        (Compare-WithSource $script:Mnt $script:Wide.Listing) -join "`n" | Should -BeNullOrEmpty
    }

    It 'Mount-DaxFs -Device -BackingFile mounts a split image' {
        Write-DaxFsImage $script:Split.Local -Device dax0.0 -Confirm:$false
        $m = Mount-DaxFs -Device dax0.0 -BackingFile $script:Split.Backing -MountPoint $script:Mnt -Confirm:$false -ErrorAction Stop
        $m.HasBackingFile | Should -BeTrue
        (Compare-WithSource $script:Mnt $script:Split.Listing) -join "`n" | Should -BeNullOrEmpty
    }

    It 'New-DaxFsImage | Write-DaxFsImage -Device -PassThru | Mount-DaxFs: one pipeline from a tree to a mount' {
        $deep = Get-TestTree 'deep'
        $m = New-DaxFsImage -Path $deep.Source -Destination (Join-Path $script:Local 'pipeline.daxfs') -Force |
            Write-DaxFsImage -Device dax0.0 -PassThru -Confirm:$false |
            Mount-DaxFs -MountPoint $script:Mnt -Confirm:$false -ErrorAction Stop
        $m.MountPoint | Should -Be $script:Mnt
        $m.PhysicalAddress | Should -Be $script:DevPhys
        (Compare-WithSource $script:Mnt $deep.Listing) -join "`n" | Should -BeNullOrEmpty
        Get-DaxFsMount | Dismount-DaxFs -Confirm:$false -ErrorAction Stop
        @(Get-DaxFsMount).Count | Should -Be 0
    }

    It 'Write-DaxFsImage and Mount-DaxFs -PhysicalAddress inside dax0.0 (4 MiB in) go through the device' {
        $at = $script:DevPhys + 4MB
        $w = Write-DaxFsImage $script:Basic.Local -PhysicalAddress $at -Size 64MB -PassThru -Confirm:$false
        $w.Target | Should -Match 'through dax0.0'
        $w.Verified | Should -BeTrue
        $m = Mount-DaxFs -PhysicalAddress $at -Size $script:Basic.TotalSize -MountPoint $script:Mnt -Confirm:$false -ErrorAction Stop
        $m.PhysicalAddress | Should -Be $at
        (Compare-WithSource $script:Mnt $script:Basic.Listing) -join "`n" | Should -BeNullOrEmpty
    }
}

Describe 'Branches read straight from /dev/dax0.0 while the kernel has them mounted' {
    It 'Get-DaxFsBranch, Get-DaxFsItem and Get-DaxFsContent on the device node show a live child branch' {
        $img = Copy-TestImage 'basic.branching'
        Write-DaxFsImage $img.Local -Device dax0.0 -Force -Confirm:$false | Out-Null
        $main = Mount-DaxFs -Device dax0.0 -MountPoint $script:Mnt -Confirm:$false -ErrorAction Stop
        $child = New-MountPoint 'dev-child'
        try {
            $b = New-DaxFsBranch live $main $child -Confirm:$false -ErrorAction Stop
            [IO.File]::WriteAllText("$child/live.txt", 'from the kernel')
            $table = Get-DaxFsBranch /dev/dax0.0
            @($table | Where-Object State -eq Active).Name | Should -Be @('main', 'live')
            ($table | Where-Object Name -eq live).EntryCount | Should -BeGreaterThan 0
            (Get-DaxFsItem /dev/dax0.0 -Branch live -Path /live.txt).Size | Should -Be 15
            Get-DaxFsContent /dev/dax0.0 /live.txt -Branch live -Raw | Should -Be 'from the kernel'
            @(Compare-DaxFsBranch /dev/dax0.0 -Branch live | ForEach-Object { "$($_.Change) $($_.Path)" }) | Should -Be @('Added /live.txt')
            Get-DaxFsItem /dev/dax0.0 -Path /live.txt -ErrorAction SilentlyContinue | Should -BeNullOrEmpty -Because 'main does not have it'
            (Undo-DaxFsBranch $b -Confirm:$false -PassThru).Branch | Should -Be '/main'
            @(Get-DaxFsBranch /dev/dax0.0 | Where-Object State -eq Active).Name | Should -Be @('main')
        }
        finally { Clear-Mount $child; Clear-Mount $script:Mnt }
    }
}

Describe 'dma-bufs from /dev/dma_heap/system and the new mount API' {
    BeforeAll { $script:Buf = New-DmaBuf -Heap system -Size 16MB -Name itest }
    AfterAll { if ($script:Buf) { $script:Buf.Dispose() } }
    AfterEach { Clear-Mount $script:Mnt }

    It 'New-DmaBuf allocates a named buffer of the size asked (the kernel''s fdinfo agrees)' {
        $script:Buf.Heap | Should -Be 'system'
        $script:Buf.Size | Should -Be 16MB
        $script:Buf.FileDescriptor | Should -BeGreaterThan 2
        $info = Get-Content "/proc/$PID/fdinfo/$($script:Buf.FileDescriptor)" -Raw
        $info | Should -Match "size:\s+$(16MB)"
        $info | Should -Match 'name:\s+itest'
    }

    It 'Write-DaxFsImage -DmaBuf writes and verifies' {
        $w = Write-DaxFsImage $script:Wide.Local -DmaBuf $script:Buf -PassThru -Confirm:$false
        $w.TargetKind | Should -Be 'DmaBuf'
        $w.Verified | Should -BeTrue
        $w.Sha256 | Should -Be (Get-FileSha $script:Wide.Local)
    }

    It 'Mount-DaxFs -DmaBuf mounts it through fsopen/fsconfig/fsmount/move_mount' {
        $m = Mount-DaxFs -DmaBuf $script:Buf -MountPoint $script:Mnt -Confirm:$false -ErrorAction Stop
        $m.DmaBuf | Should -BeTrue
        $m.ReadOnly | Should -BeTrue
        (Compare-WithSource $script:Mnt $script:Wide.Listing) -join "`n" | Should -BeNullOrEmpty
        (Get-DaxFsMount).DmaBuf | Should -BeTrue
        Dismount-DaxFs $script:Mnt -Confirm:$false -ErrorAction Stop
    }

    It 'Mount-DaxFs -DmaBuf -Validate: refused, the kernel log says why' {
        $log = [DaxFs.TreeTools.KernelLog]::FromNow()
        try {
            $e = { Mount-DaxFs -DmaBuf $script:Buf -MountPoint $script:Mnt -Validate -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue } |
                Should -Throw -ErrorId 'MountFailed,DaxFs.Commands.MountDaxFsCommand' -PassThru
            $log.ReadNew() -join "`n" | Should -Match 'daxfs: inode 1 nlink mismatch: nlink=\d+ refcount=0'
            $e.Exception.Message | Should -Match 'The kernel said: daxfs: inode 1 nlink mismatch: nlink=\d+ refcount=0'
            $warned = @(Mount-DaxFs -DmaBuf $script:Buf -MountPoint $script:Mnt -Validate -WhatIf 3>&1 | Where-Object { $_ -is [Management.Automation.WarningRecord] })
            "$warned" | Should -Match 'no entry names the root directory'
        }
        finally { $log.Dispose() }
        @(Get-DaxFsMount).Count | Should -Be 0
    }

    It 'Write-DaxFsImage -DmaBuf -PassThru | Mount-DaxFs -BackingFile mounts a split image' {
        $m = Write-DaxFsImage $script:Split.Local -DmaBuf $script:Buf -PassThru -Confirm:$false |
            Mount-DaxFs -MountPoint $script:Mnt -BackingFile $script:Split.Backing -Confirm:$false -ErrorAction Stop
        $m.DmaBuf | Should -BeTrue
        $m.HasBackingFile | Should -BeTrue
        (Compare-WithSource $script:Mnt $script:Split.Listing) -join "`n" | Should -BeNullOrEmpty
    }
}

Describe 'Set-DaxDevice mode changes' {
    It 'devdax to devdax is accepted and leaves the device as it was' {
        $d = Set-DaxDevice dax0.0 -Mode devdax -PassThru -Confirm:$false -ErrorAction Stop
        $d.Mode | Should -Be 'devdax'
        (Get-DaxDevice -Name dax0.0).State | Should -Be 'enabled'
    }

    It 'system-ram without -Force: daxctl refuses (the kernel onlines hot-added memory itself), the error says to add -Force' {
        $e = { Set-DaxDevice dax0.0 -Mode system-ram -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'DaxctlFailed,DaxFs.Commands.SetDaxDeviceCommand' -PassThru
        $e.Exception.Message | Should -Match 'add -Force'
        (Get-DaxDevice -Name dax0.0).Mode | Should -Be 'devdax'
    }

    It 'system-ram with -Force fails in this guest (no dax_kmem module) and DaxFs puts the device back in devdax' {
        $e = { Set-DaxDevice dax0.0 -Mode system-ram -Force -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'DaxctlFailed,DaxFs.Commands.SetDaxDeviceCommand' -PassThru
        $e.Exception.Message | Should -Match 'put it back in devdax mode'
        $d = Get-DaxDevice -Name dax0.0 -ErrorAction Stop
        $d.Mode | Should -Be 'devdax'
        $d.State | Should -Be 'enabled'
        (Write-DaxFsImage $script:Basic.Local -Device dax0.0 -PassThru -Confirm:$false).Verified | Should -BeTrue
    }
}

Describe 'Remove-DaxNamespace and New-DaxNamespace -Region' {
    It 'Remove-DaxNamespace destroys the namespace: no namespace, no dax device, and no error for the empty lists' {
        Remove-DaxNamespace namespace0.0 -Confirm:$false -ErrorAction Stop
        @(Get-DaxNamespace -ErrorAction Stop).Count | Should -Be 0
        @(Get-DaxDevice -ErrorAction Stop).Count | Should -Be 0
        Test-Path /dev/dax0.0 | Should -BeFalse
    }

    It 'New-DaxNamespace -Region region0 -Mode devdax makes a dax device that takes and mounts an image' {
        $ns = New-DaxNamespace -Region region0 -Mode devdax -Confirm:$false -ErrorAction Stop
        $ns.Mode | Should -Be 'devdax'
        $ns.Device | Should -Not -BeNullOrEmpty
        $d = Get-DaxDevice -Name $ns.Device -ErrorAction Stop
        $d.Size | Should -Be $ns.Size
        Write-DaxFsImage $script:Basic.Local -Device $ns.Device -Confirm:$false
        Mount-DaxFs -Device $ns.Device -MountPoint $script:Mnt -Confirm:$false -ErrorAction Stop | Out-Null
        (Compare-WithSource $script:Mnt $script:Basic.Listing) -join "`n" | Should -BeNullOrEmpty
        Dismount-DaxFs $script:Mnt -Confirm:$false -ErrorAction Stop
    }
}
