# The device, memory and mount cmdlets against a fake host: a sysfs tree and /dev in TestDrive, ndctl/daxctl played by
# tests/fixtures/linux/fake-tool.sh answering with recorded output, a mountinfo file, memfd "dma-bufs". The DAXFS_*
# environment variables (LinuxEnvironmentVariables in the engine) point the module at them; no root and no hardware
# needed. The few real system calls made here (fsopen, mount(2)) fail before touching memory and are skipped where the
# machine would answer differently.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Fixtures = Join-Path $PSScriptRoot 'fixtures/linux'
    $script:Basic = Join-Path $Vectors 'basic.static.daxfs'
    # A sound image with no hard links ('basic' keeps mkdaxfs's empty inode slot for its hard link: INODE-EMPTY).
    $script:Sound = Join-Path $Vectors 'deep.static.daxfs'
    $script:MiB = 1024 * 1024
    # Real system calls are made only where they fail before touching memory: as root, on a kernel without daxfs.
    $script:NoRealKernelCall = if ((id -u) -ne '0') { 'needs root: as a user the kernel answers EPERM before the call this test is about' }
        elseif ((Get-Content /proc/filesystems) -match '\bdaxfs$') { 'the daxfs module is loaded here, so a mount of the fake device would reach a made-up physical address' }
    $script:SavedEnv = Save-FakeHostEnvironment

    # A fresh fake host with dax0.0 (as recorded in the VM: 502 MiB at 0x100a00000), dax1.0 (two ranges), region0 and
    # namespace0.0 in sysfs, ndctl/daxctl answering with the recorded devdax listings, an empty mountinfo.
    function New-FakeHost {
        $root = New-FakeHostRoot
        Add-FakeDaxDevice $root 'dax0.0' 526385152 0x100a00000 -Mappings @(, @(0x100a00000, 0x11fffffff))
        Add-FakeDaxDevice $root 'dax1.0' (4 * $MiB) 0x140000000 -Mappings @(@(0x140000000, 0x1401fffff), @(0x280000000, 0x2801fffff))
        New-Item -ItemType Directory -Force (Join-Path $root 'sys/bus/nd/devices/region0'), (Join-Path $root 'sys/bus/nd/devices/namespace0.0'), (Join-Path $root 'mnt') | Out-Null
        $tools = Add-FakeTool $root
        $h = [pscustomobject]@{
            Root = $root; Tools = $tools; MountPoint = Join-Path $root 'mnt'; MountInfo = Join-Path $root 'mountinfo'
            Node = Join-Path $root 'dev/dax0.0'
        }
        Set-Content $h.MountInfo '' -NoNewline
        Set-Answer daxctl list -Fixture 'daxctl-list-devices-mappings.devdax.json'
        Set-Answer ndctl list -Fixture 'ndctl-list-N.devdax.json'
        Set-FakeHostEnvironment -SysfsRoot $root -DevRoot (Join-Path $root 'dev') -MountInfo $h.MountInfo -Tools $tools -AssumeRoot 1 -DmaHeap memfd
        $h
    }

    # What the fake TOOL answers to SUB: a recorded fixture or text on stdout, stderr, an exit code; -Once for the next
    # call only, -ThenList: the list output after that call.
    function Set-Answer {
        param([string] $Tool, [string] $Sub, [string] $Fixture, [string] $Text, [string] $StderrFixture, [int] $Exit = 0, [switch] $Once, [string] $ThenList)
        $base = Join-Path $h.Tools ("$Tool.$Sub" + $(if ($Once) { '.once' } else { '' }))
        if ($Fixture) { Copy-Item (Join-Path $Fixtures $Fixture) "$base.stdout" } elseif ($PSBoundParameters.ContainsKey('Text')) { Set-Content "$base.stdout" $Text -NoNewline } else { Remove-Item "$base.stdout" -ErrorAction Ignore }
        if ($StderrFixture) { Copy-Item (Join-Path $Fixtures $StderrFixture) "$base.stderr" } else { Remove-Item "$base.stderr" -ErrorAction Ignore }
        Set-Content "$base.exit" $Exit
        if ($ThenList) { Copy-Item (Join-Path $Fixtures $ThenList) "$base.then-list" }
    }

    function Get-ToolLog([string] $Tool) {
        $p = Join-Path $h.Tools "$Tool.log"
        if (Test-Path $p) { @(Get-Content $p) } else { @() }
    }

    function Read-Bytes([string] $Path, [long] $Offset, [int] $Count) {
        $f = [IO.File]::OpenRead($Path)
        try { $f.Position = $Offset; $b = [byte[]]::new($Count); $f.ReadExactly($b); , $b } finally { $f.Dispose() }
    }

    function Get-Sha256([byte[]] $Bytes) { [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData($Bytes)).ToLowerInvariant() }
}

AfterAll {
    Restore-FakeHostEnvironment $SavedEnv
}

Describe 'The module surface for devices, memory and mounts' {
    It 'exports <_> with typed output' -ForEach @(
        'Get-DaxDevice', 'Set-DaxDevice', 'Get-DaxNamespace', 'New-DaxNamespace', 'Remove-DaxNamespace',
        'New-DmaBuf', 'Write-DaxFsImage', 'Mount-DaxFs', 'Get-DaxFsMount', 'Dismount-DaxFs'
    ) {
        $c = Get-Command $_ -Module DaxFs
        $c.CommandType | Should -Be 'Cmdlet'
        if ($_ -notin 'Remove-DaxNamespace', 'Dismount-DaxFs') { $c.OutputType.Type.Namespace | Should -Contain 'DaxFs' }
    }
    It '<Name> asks for confirmation at <Impact> impact' -ForEach @(
        @{ Name = 'New-DaxNamespace'; Impact = 'High' }, @{ Name = 'Remove-DaxNamespace'; Impact = 'High' }, @{ Name = 'Set-DaxDevice'; Impact = 'High' },
        @{ Name = 'Write-DaxFsImage'; Impact = 'High' }, @{ Name = 'Mount-DaxFs'; Impact = 'Medium' }, @{ Name = 'Dismount-DaxFs'; Impact = 'Medium' },
        @{ Name = 'New-DmaBuf'; Impact = 'Low' }
    ) {
        $attr = (Get-Command $Name).ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
        $attr.SupportsShouldProcess | Should -BeTrue
        $attr.ConfirmImpact | Should -Be $Impact
    }
    It 'has the parameter sets of <Name>' -ForEach @(
        @{ Name = 'Write-DaxFsImage'; Sets = @('Device', 'DmaBuf', 'PhysicalAddress') }
        @{ Name = 'Mount-DaxFs'; Sets = @('Device', 'DmaBuf', 'InputObject', 'PhysicalAddress') }
        @{ Name = 'New-DaxNamespace'; Sets = @('Reconfigure', 'Region') }
        @{ Name = 'Get-DaxDevice'; Sets = @('Name', 'Namespace') }
    ) {
        (Get-Command $Name).ParameterSets.Name | Sort-Object | Should -Be $Sets
    }
    It 'refuses parameters from two sets at once' {
        { Write-DaxFsImage $Basic -Device dax0.0 -PhysicalAddress 0x1000 -Size 4096 -WhatIf } | Should -Throw -ErrorId 'AmbiguousParameterSet,DaxFs.Commands.WriteDaxFsImageCommand'
        { New-DaxNamespace -Region region0 -Reconfigure namespace0.0 -Mode devdax -WhatIf } | Should -Throw -ErrorId 'AmbiguousParameterSet,DaxFs.Commands.NewDaxNamespaceCommand'
        { Mount-DaxFs -Device dax0.0 -Size 4096 -MountPoint /mnt -WhatIf } | Should -Throw -ErrorId 'AmbiguousParameterSet,DaxFs.Commands.MountDaxFsCommand'
    }
    It 'validates modes' {
        { New-DaxNamespace -Region region0 -Mode raw -WhatIf } | Should -Throw -ErrorId 'ParameterArgumentValidationError,DaxFs.Commands.NewDaxNamespaceCommand'
        { Set-DaxDevice dax0.0 -Mode fsdax -WhatIf } | Should -Throw -ErrorId 'ParameterArgumentValidationError,DaxFs.Commands.SetDaxDeviceCommand'
    }
}

Describe 'Get-DaxDevice' {
    BeforeEach { $h = New-FakeHost }

    It 'joins daxctl list with sysfs' {
        $d = @(Get-DaxDevice)
        $d.Count | Should -Be 1   # daxctl lists dax0.0 only
        $d = $d[0]
        $d | Should -BeOfType DaxFs.DaxDevice
        $d.Name | Should -Be 'dax0.0'
        $d.Path | Should -Be $h.Node
        $d.Mode | Should -Be 'devdax'
        $d.State | Should -Be 'enabled'
        $d.Size | Should -Be 526385152
        $d.Align | Should -Be 2MB
        $d.PhysicalAddress | Should -Be 0x100a00000
        $d.Driver | Should -Be 'device_dax'
        $d.Region | Should -Be 0
        $d.Mappings.Count | Should -Be 1
        $d.Mappings[0].End | Should -Be 0x11fffffff
        Get-ToolLog daxctl | Should -Be @('list --devices --mappings')
    }
    It 'matches names with wildcards and takes names from the pipeline' {
        (Get-DaxDevice 'dax*').Name | Should -Be 'dax0.0'
        ('dax0.0' | Get-DaxDevice).Name | Should -Be 'dax0.0'
    }
    It 'reports a missing device as DaxDeviceNotFound and goes on' {
        $out = Get-DaxDevice 'dax9.9', 'dax0.0' -ErrorVariable errs -ErrorAction SilentlyContinue
        $out.Name | Should -Be 'dax0.0'
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'DaxDeviceNotFound,DaxFs.Commands.GetDaxDeviceCommand'
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errs[0].TargetObject | Should -Be 'dax9.9'
        $errs[0].Exception.Message | Should -Match 'Devices here: dax0.0'
    }
    It 'gives nothing, and no error, when daxctl prints nothing' {
        Set-Answer daxctl list -Fixture 'daxctl-list.empty.txt'
        Get-DaxDevice -ErrorVariable errs | Should -BeNullOrEmpty
        $errs | Should -BeNullOrEmpty
    }
    It 'shows a device left disabled by a failed mode change' {
        Set-Answer daxctl list -Fixture 'daxctl-list-devices-mappings.disabled.json'
        (Get-DaxDevice).State | Should -Be 'disabled'
    }
    It 'falls back to sysfs with a warning when daxctl is not installed' {
        $env:DAXFS_DAXCTL = Join-Path $h.Root 'no-such-daxctl'
        $d = Get-DaxDevice -WarningVariable w 3>$null
        $d.Name | Should -Be @('dax0.0', 'dax1.0')
        $d[1].Mappings.Count | Should -Be 2
        "$w" | Should -Match 'apt-get install daxctl'
    }
    It 'fails with DaxctlOutputInvalid when daxctl prints no JSON' {
        Set-Answer daxctl list -Text 'libdaxctl: something odd'
        { Get-DaxDevice -ErrorAction Stop } | Should -Throw -ErrorId 'DaxctlOutputInvalid,DaxFs.Commands.GetDaxDeviceCommand'
    }
    It 'takes namespaces from Get-DaxNamespace' {
        (Get-DaxNamespace | Get-DaxDevice).Name | Should -Be 'dax0.0'
    }
    It 'formats as a table and a list' {
        $t = Get-DaxDevice | Format-Table | Out-String
        $t | Should -Match 'dax0.0\s+devdax\s+enabled\s+502 MiB\s+2.0 MiB\s+0\s+0x100a00000\s+1'
        $l = Get-DaxDevice | Format-List | Out-String
        $l | Should -Match 'Mappings\s+: 0x100a00000-0x11fffffff \(502 MiB\)'
    }
}

Describe 'Get-DaxNamespace' {
    BeforeEach { $h = New-FakeHost }

    It 'parses ndctl list output of shape <_>' -ForEach @('ndctl-list-N.devdax.json', 'ndctl-list-N-R.devdax.json', 'ndctl-list-D-R-N.devdax.json') {
        Set-Answer ndctl list -Fixture $_
        $n = Get-DaxNamespace
        $n | Should -BeOfType DaxFs.DaxNamespace
        $n.Name | Should -Be 'namespace0.0'
        $n.Region | Should -Be 'region0'
        $n.Mode | Should -Be 'devdax'
        $n.Device | Should -Be 'dax0.0'
        $n.Size | Should -Be 526385152
    }
    It 'passes -Region and -Idle to ndctl and filters -Mode itself' {
        Get-DaxNamespace -Region region0 -Idle | Out-Null
        Get-DaxNamespace -Mode fsdax | Should -BeNullOrEmpty
        Get-ToolLog ndctl | Should -Be @('list --namespaces --idle --region=region0', 'list --namespaces')
    }
    It 'gives nothing, and no error, when ndctl prints nothing' {
        Set-Answer ndctl list -Fixture 'ndctl-list-N.empty.txt' -StderrFixture 'ndctl-destroy-namespace.ok.stderr'
        Get-DaxNamespace -ErrorVariable errs | Should -BeNullOrEmpty
        $errs | Should -BeNullOrEmpty
    }
    It 'reports a missing namespace as DaxNamespaceNotFound' {
        $e = { Get-DaxNamespace namespace7.0 -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'DaxNamespaceNotFound,DaxFs.Commands.GetDaxNamespaceCommand'
        $e.TargetObject | Should -Be 'namespace7.0'
        $e.Exception.Message | Should -Match '-Idle'
    }
    It 'names the Debian package when ndctl is not installed' {
        $env:DAXFS_NDCTL = Join-Path $h.Root 'no-such-ndctl'
        $e = { Get-DaxNamespace } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'NdctlNotInstalled,DaxFs.Commands.GetDaxNamespaceCommand'
        $e.CategoryInfo.Category | Should -Be 'NotInstalled'
        $e.Exception.Message | Should -Match 'apt-get install ndctl'
    }
    It 'formats as a table' {
        Get-DaxNamespace | Format-Table | Out-String | Should -Match 'namespace0.0\s+region0\s+devdax\s+502 MiB\s+2.0 MiB\s+dax0.0\s+enabled'
    }
}

Describe 'New-DaxNamespace' {
    BeforeEach { $h = New-FakeHost }

    It 'changes nothing under -WhatIf' {
        New-DaxNamespace -Region region0 -Mode devdax -Size 64MB -WhatIf | Should -BeNullOrEmpty
        Get-ToolLog ndctl | Should -BeNullOrEmpty
    }
    It 'runs the exact command and returns the namespace ndctl printed' {
        Set-Answer ndctl create-namespace -Fixture 'ndctl-create-namespace.devdax.json'
        $n = New-DaxNamespace -Region region0 -Mode devdax -Size 64MB -Align 2MB -Label 'images' -Confirm:$false
        $n | Should -BeOfType DaxFs.DaxNamespace
        $n.Device | Should -Be 'dax0.0'
        Get-ToolLog ndctl | Should -Be @('create-namespace --region=region0 --mode=devdax --size=67108864 --align=2097152 --name=images')
    }
    It 'reconfigures a label-less namespace with -Reconfigure' {
        Set-Answer ndctl create-namespace -Fixture 'ndctl-create-namespace.fsdax.json'
        (New-DaxNamespace -Reconfigure namespace0.0 -Mode fsdax -Confirm:$false).BlockDevice | Should -Be 'pmem0'
        Get-ToolLog ndctl | Should -Be @('create-namespace --reconfig=namespace0.0 --mode=fsdax --force')
    }
    It 'turns an ndctl failure into NdctlFailed with the next step' {
        Set-Answer ndctl create-namespace -StderrFixture 'ndctl-create-namespace.labelless-237.stderr' -Exit 237
        $e = { New-DaxNamespace -Region region0 -Mode devdax -Size 64MB -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'NdctlFailed,DaxFs.Commands.NewDaxNamespaceCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $e.TargetObject | Should -Be 'region0'
        $e.Exception.Message | Should -Match 'exit code 237, EINVAL'
        $e.Exception.Message | Should -Match 'New-DaxNamespace -Reconfigure'
    }
    It 'needs root, and says so before running anything' {
        $env:DAXFS_ASSUME_ROOT = '0'
        $e = { New-DaxNamespace -Region region0 -Mode devdax -Confirm:$false } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'NotRoot,DaxFs.Commands.NewDaxNamespaceCommand'
        $e.CategoryInfo.Category | Should -Be 'PermissionDenied'
        Get-ToolLog ndctl | Should -BeNullOrEmpty
    }
}

Describe 'Remove-DaxNamespace' {
    BeforeEach { $h = New-FakeHost }

    It 'changes nothing under -WhatIf, from the pipeline' {
        Get-DaxNamespace | Remove-DaxNamespace -WhatIf
        Get-ToolLog ndctl | Should -Be @('list --namespaces', 'list --namespaces --idle')
    }
    It 'destroys the namespace with the exact command' {
        Set-Answer ndctl destroy-namespace -StderrFixture 'ndctl-destroy-namespace.ok.stderr'
        Remove-DaxNamespace namespace0.0 -Confirm:$false -ErrorVariable errs
        $errs | Should -BeNullOrEmpty
        (Get-ToolLog ndctl)[-1] | Should -Be 'destroy-namespace --force namespace0.0'
    }
    It 'reports a namespace that does not exist without running destroy' {
        $e = { Remove-DaxNamespace namespace9.9 -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'DaxNamespaceNotFound,DaxFs.Commands.RemoveDaxNamespaceCommand'
        Get-ToolLog ndctl | Should -Not -Contain 'destroy-namespace --force namespace9.9'
    }
    It 'reports a failed destroy with its errno' {
        Set-Answer ndctl destroy-namespace -StderrFixture 'ndctl-destroy-namespace.enxio-250.stderr' -Exit 250
        $e = { Remove-DaxNamespace namespace0.0 -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'NdctlFailed,DaxFs.Commands.RemoveDaxNamespaceCommand'
        $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $e.Exception.Message | Should -Match 'ENXIO'
    }
}

Describe 'Set-DaxDevice' {
    BeforeEach { $h = New-FakeHost }

    It 'changes nothing under -WhatIf' {
        Get-DaxDevice | Set-DaxDevice -Mode system-ram -WhatIf
        Get-ToolLog daxctl | Should -Be @('list --devices --mappings')
    }
    It 'runs daxctl reconfigure-device and returns the device with -PassThru' {
        Set-Answer daxctl reconfigure-device -Fixture 'daxctl-reconfigure-devdax.json' -StderrFixture 'daxctl-reconfigure-devdax.stderr'
        $d = Set-DaxDevice dax0.0 -Mode devdax -PassThru -Confirm:$false
        $d | Should -BeOfType DaxFs.DaxDevice
        $d.Mode | Should -Be 'devdax'
        Get-ToolLog daxctl | Should -Contain 'reconfigure-device --mode=devdax dax0.0'
    }
    It 'passes -NoOnline and -Force to daxctl and says when the kernel onlines memory by itself' {
        Set-Answer daxctl reconfigure-device -StderrFixture 'daxctl-reconfigure-system-ram.autoonline-240.stderr' -Exit 240
        $e = { Set-DaxDevice dax0.0 -Mode system-ram -NoOnline -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'DaxctlFailed,DaxFs.Commands.SetDaxDeviceCommand'
        $e.CategoryInfo.Category | Should -Be 'ResourceBusy'
        $e.TargetObject | Should -Be 'dax0.0'
        $e.Exception.Message | Should -Match '-Force'
        $e.Exception.Message | Should -Not -Match 'put it back'
        Get-ToolLog daxctl | Should -Contain 'reconfigure-device --mode=system-ram --no-online dax0.0'
    }
    It 'puts the device back in its mode when a change fails half-way' {
        Set-Answer daxctl reconfigure-device -Once -StderrFixture 'daxctl-reconfigure-system-ram.nokmem-254.stderr' -Exit 254 -ThenList 'daxctl-list-devices-mappings.disabled.json'
        Set-Answer daxctl reconfigure-device -Fixture 'daxctl-reconfigure-devdax.restore.json' -StderrFixture 'daxctl-reconfigure-devdax.restore.stderr'
        $e = { Set-DaxDevice dax0.0 -Mode system-ram -Force -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'DaxctlFailed,DaxFs.Commands.SetDaxDeviceCommand'
        $e.Exception.Message | Should -Match 'No such file or directory'
        $e.Exception.Message | Should -Match 'left dax0.0 disabled; DaxFs put it back in devdax mode'
        @(Get-ToolLog daxctl) -match '^reconfigure' | Should -Be @('reconfigure-device --mode=system-ram --force dax0.0', 'reconfigure-device --mode=devdax dax0.0')
    }
    It 'reports a missing device without running reconfigure-device' {
        $e = { Set-DaxDevice dax9.9 -Mode devdax -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'DaxDeviceNotFound,DaxFs.Commands.SetDaxDeviceCommand'
        @(Get-ToolLog daxctl) -match '^reconfigure' | Should -BeNullOrEmpty
    }
    It 'needs root' {
        $env:DAXFS_ASSUME_ROOT = 'no'
        { Set-DaxDevice dax0.0 -Mode devdax -Confirm:$false } | Should -Throw -ErrorId 'NotRoot,DaxFs.Commands.SetDaxDeviceCommand'
    }
}

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

Describe 'Mount-DaxFs' {
    BeforeEach { $h = New-FakeHost }

    It 'shows the mount(2) call under -WhatIf and mounts nothing' {
        Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -WhatIf -Verbose 4>&1 | Out-String |
            Should -Match ([regex]::Escape("mount -t daxfs -o phys=0x100a00000,size=0x1f600000 dax0.0 $($h.MountPoint)"))
    }
    It 'refuses a missing mount point' {
        $e = { Mount-DaxFs -Device dax0.0 -MountPoint (Join-Path $h.Root 'nope') -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'MountPointNotFound,DaxFs.Commands.MountDaxFsCommand'
        $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $e.Exception.Message | Should -Match 'New-Item -ItemType Directory'
    }
    It 'refuses a mount point that is in use' {
        Set-Content $h.MountInfo "61 27 0:52 / $($h.MountPoint) rw - tmpfs tmpfs rw"
        { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'MountPointBusy,DaxFs.Commands.MountDaxFsCommand'
    }
    It 'refuses a device made of several physical ranges' {
        $e = { Mount-DaxFs -Device dax1.0 -MountPoint $h.MountPoint -WhatIf -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'DaxDeviceMultiRange,DaxFs.Commands.MountDaxFsCommand'
        $e.TargetObject | Should -Be 'dax1.0'
    }
    It 'refuses memory that holds no image, before any mount call' {
        $e = { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'NoDaxFsImageAtTarget,DaxFs.Commands.MountDaxFsCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidData'
        $e.Exception.Message | Should -Match 'Write-DaxFsImage IMAGE -Device dax0.0'
    }
    It 'refuses a size below the size the image says it has' {
        Write-DaxFsImage $Basic -Device dax0.0 -Confirm:$false
        $e = { Mount-DaxFs -PhysicalAddress 0x100a00000 -Size 0x10000 -MountPoint $h.MountPoint -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'ImageLargerThanMountSize,DaxFs.Commands.MountDaxFsCommand'
        $e.Exception.Message | Should -Match 'crashes the kernel'
    }
    It 'needs root' {
        $env:DAXFS_ASSUME_ROOT = '0'
        { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false } | Should -Throw -ErrorId 'NotRoot,DaxFs.Commands.MountDaxFsCommand'
    }
    It 'says modprobe daxfs when the kernel does not know daxfs (real mount(2))' {
        if ($NoRealKernelCall) { Set-ItResult -Skipped -Because $NoRealKernelCall; return }
        # Safe only because the kernel has no daxfs: mount(2) fails with ENODEV before it looks at phys= (a fake address).
        Write-DaxFsImage $Sound -Device dax0.0 -Confirm:$false
        $e = { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Validate -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'DaxFsModuleNotLoaded,DaxFs.Commands.MountDaxFsCommand'
        $e.CategoryInfo.Category | Should -Be 'NotInstalled'
        $e.Exception.Message | Should -Match 'modprobe daxfs'
    }
    It 'takes Write-DaxFsImage -PassThru from the pipeline and mounts a dma-buf through the new mount API (real fsopen)' {
        if ($NoRealKernelCall) { Set-ItResult -Skipped -Because $NoRealKernelCall; return }
        $b = New-DmaBuf -Size 1MB
        try {
            $e = { $Sound | Write-DaxFsImage -DmaBuf $b -PassThru -Confirm:$false | Mount-DaxFs -MountPoint $h.MountPoint -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
            $e.FullyQualifiedErrorId | Should -Be 'DaxFsModuleNotLoaded,DaxFs.Commands.MountDaxFsCommand'
            $e.Exception.Errno | Should -Be 19
        }
        finally { $b.Dispose() }
    }
    It 'shows the new mount API calls for a dma-buf under -WhatIf' {
        $b = New-DmaBuf -Size 1MB
        try {
            $b | Mount-DaxFs -MountPoint $h.MountPoint -Validate -WhatIf -Verbose 4>&1 | Out-String |
                Should -Match 'fsopen\("daxfs"\), fsconfig\(FSCONFIG_SET_FD "dmabuf"=fd \d+\), fsconfig\(FSCONFIG_SET_FLAG "validate"\), fsconfig\(FSCONFIG_CMD_CREATE\)'
        }
        finally { $b.Dispose() }
    }
}

Describe 'Mount-DaxFs validation gate' {
    BeforeAll {
        # A copy of a sound image with one field broken: the base image region runs past the end (base_size at 32).
        # Write-DaxFsImage refuses to read such an image, so the bytes go straight into the fake device's node.
        function Set-HostileImage([long] $At, [uint64] $Value) {
            $bytes = [IO.File]::ReadAllBytes($Sound)
            [BitConverter]::GetBytes($Value).CopyTo($bytes, $At)
            Set-NodeBytes $bytes
        }
        function Set-NodeBytes([byte[]] $Bytes) {
            $f = [IO.File]::OpenWrite($h.Node); try { $f.Write($Bytes, 0, $Bytes.Length) } finally { $f.Dispose() }
        }
    }
    BeforeEach { $h = New-FakeHost }

    It 'refuses a hostile image before any mount call, with the rule ids, offsets and the fix' {
        Set-HostileImage 32 ([uint64](1L -shl 40))
        $e = { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'ImageFailsValidation,DaxFs.Commands.MountDaxFsCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidData'
        $e.TargetObject | Should -Be 'dax0.0'
        $e.Exception.Message | Should -Match 'SB-BASE-BOUNDS at 0x18: '
        $e.Exception.Message | Should -Match 'Test-DaxFsImage -Detailed'
        $e.Exception.Message | Should -Match 'New-DaxFsImage'
        $e.Exception.Message | Should -Match '-SkipValidation'
        $findings = @($e.Exception.Data['Findings'])
        $findings[0] | Should -BeOfType 'DaxFs.DaxFsValidationFinding'
        $findings.RuleId | Should -Contain 'SB-BASE-BOUNDS'
        ($findings | Where-Object RuleId -eq 'SB-BASE-BOUNDS').Severity | Should -Be 'Error'
        ($findings | Where-Object RuleId -eq 'SB-BASE-BOUNDS').ImagePath | Should -Be 'dax0.0'
    }
    It 'refuses a directory entry that points outside the inode table, naming that rule' {
        # deep.static: the root's first dirent is at base + data; ino at its start. Found through the reader.
        $root = Get-DaxFsItem $Sound | Select-Object -First 1
        $bytes = [IO.File]::ReadAllBytes($Sound)
        $base = [BitConverter]::ToInt64($bytes, 24)
        $table = $base + [BitConverter]::ToInt64($bytes, $base + 24)
        $rootData = $base + [BitConverter]::ToInt64($bytes, $table + 24)
        [BitConverter]::GetBytes([uint32]999999).CopyTo($bytes, $rootData)
        Set-NodeBytes $bytes
        $e = { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'ImageFailsValidation,DaxFs.Commands.MountDaxFsCommand'
        $e.Exception.Message | Should -Match ('DIRENT-INO at 0x{0:x}: ' -f $rootData)
        $root | Should -Not -BeNullOrEmpty
    }
    It 'refuses an empty inode slot that a directory entry names (INODE-TYPE)' {
        $bytes = [IO.File]::ReadAllBytes($Basic)
        # Inode 18 (/a/five000) zeroed: its dirent now names an inode of no type.
        [Array]::Clear($bytes, 0x2000 + 17 * 64, 64)
        Set-NodeBytes $bytes
        $e = { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'ImageFailsValidation,DaxFs.Commands.MountDaxFsCommand'
        @($e.Exception.Data['Findings'] | Where-Object Severity -eq 'Error').RuleId | Should -Contain 'INODE-TYPE'
    }
    It 'under -WhatIf reads and validates nothing, and mounts nothing' {
        Set-HostileImage 32 ([uint64](1L -shl 40))
        $out = Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -WhatIf -Verbose -ErrorAction Stop 4>&1 | Out-String
        $out | Should -Match 'mount -t daxfs -o phys=0x100a00000'
        $out | Should -Not -Match 'validation'
    }
    It '-SkipValidation warns that the kernel may crash, and then leaves the image to the kernel' {
        Set-HostileImage 32 ([uint64](1L -shl 40))
        Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -SkipValidation -WhatIf -WarningVariable w 3>$null | Out-Null
        "$w" | Should -Match '-SkipValidation'
        "$w" | Should -Match 'can crash the kernel'
        if ($NoRealKernelCall) { Set-ItResult -Skipped -Because $NoRealKernelCall; return }
        # Safe only because the kernel has no daxfs: mount(2) fails with ENODEV before it looks at the memory.
        $e = { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -SkipValidation -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'DaxFsModuleNotLoaded,DaxFs.Commands.MountDaxFsCommand'
    }
    It 'lets <Name> through to the mount call, its validate-only bookkeeping as a verbose note (<Note>)' -ForEach @(
        @{ Name = 'a sound image'; Image = 'deep.static.daxfs'; Note = 'NLINK-MISMATCH at 0x[0-9a-f]+: Inode 1 ' }
        @{ Name = 'an image mkdaxfs wrote with a hard link'; Image = 'basic.static.daxfs'; Note = 'INODE-EMPTY at 0x2484: Inode 19 is an empty' }) {
        if ($NoRealKernelCall) { Set-ItResult -Skipped -Because $NoRealKernelCall; return }
        Write-DaxFsImage (Join-Path $Vectors $Image) -Device dax0.0 -Confirm:$false
        $e = $null
        $v = Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false -Verbose -ErrorVariable e -ErrorAction SilentlyContinue -WarningVariable w 4>&1 | Out-String
        $e[0].FullyQualifiedErrorId | Should -Be 'DaxFsModuleNotLoaded,DaxFs.Commands.MountDaxFsCommand'
        $v | Should -Match 'passed validation'
        $v | Should -Match $Note
        $w | Should -BeNullOrEmpty
    }
    It 'warns about other findings, such as a split image mounted without its backing file' {
        if ($NoRealKernelCall) { Set-ItResult -Skipped -Because $NoRealKernelCall; return }
        $tree = New-Item -ItemType Directory -Force (Join-Path $TestDrive 'split-tree')
        Set-Content (Join-Path $tree 'f.txt') 'split'
        $img = New-DaxFsImage $tree -Destination (Join-Path $TestDrive 'split.daxfs') -BackingFile (Join-Path $TestDrive 'split.data') -DeltaSize 2MB -Force
        Write-DaxFsImage $img -Device dax0.0 -Confirm:$false
        $e = $null
        Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false -ErrorVariable e -ErrorAction SilentlyContinue -WarningVariable w 3>$null | Out-Null
        $e[0].FullyQualifiedErrorId | Should -Be 'DaxFsModuleNotLoaded,DaxFs.Commands.MountDaxFsCommand'
        "$w" | Should -Match 'BASE-EXTERNAL'
    }
}

Describe 'Get-DaxFsMount and Dismount-DaxFs' {
    BeforeEach {
        $h = New-FakeHost
        Set-Content $h.MountInfo @(
            "61 27 0:52 / /mnt/dax\040root ro,relatime shared:30 - daxfs dax0.0 ro,phys=0x100a00000,size=526385152,static"
            "62 27 0:53 / /mnt/branch rw,relatime - daxfs daxfs rw,name=pool,source=dmabuf,size=268435456,backing=<path>,branch=/main"
            "63 27 0:54 / /mnt/tmp rw - tmpfs tmpfs rw"
        )
    }

    It 'lists the daxfs mounts with typed options' {
        $m = Get-DaxFsMount
        $m.Count | Should -Be 2
        $m[0] | Should -BeOfType DaxFs.DaxFsMount
        $m[0].MountPoint | Should -Be '/mnt/dax root'
        $m[0].PhysicalAddress | Should -Be 0x100a00000
        $m[0].Size | Should -Be 526385152
        $m[0].Static | Should -BeTrue
        $m[0].ReadOnly | Should -BeTrue
        $m[1].DmaBuf | Should -BeTrue
        $m[1].Branch | Should -Be '/main'
        $m[1].Name | Should -Be 'pool'
        $m[1].HasBackingFile | Should -BeTrue
        $m[1].ReadOnly | Should -BeFalse
    }
    It 'filters by mount point, with wildcards' {
        (Get-DaxFsMount '/mnt/b*').MountPoint | Should -Be '/mnt/branch'
        (Get-DaxFsMount '/mnt/branch/').MountPoint | Should -Be '/mnt/branch'
        { Get-DaxFsMount /mnt/tmp -ErrorAction Stop } | Should -Throw -ErrorId 'DaxFsMountNotFound,DaxFs.Commands.GetDaxFsMountCommand'
    }
    It 'formats as a table' {
        Get-DaxFsMount | Format-Table | Out-String | Should -Match 'dax0.0\s+0x100a00000\s+502 MiB\s+static\s+ro\s+/mnt/dax root'
    }
    It 'dismounts nothing under -WhatIf, from the pipeline' {
        Get-DaxFsMount | Dismount-DaxFs -WhatIf -ErrorVariable errs
        $errs | Should -BeNullOrEmpty
    }
    It 'refuses what is not a daxfs mount' {
        $e = { Dismount-DaxFs /mnt/tmp -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'NotADaxFsMount,DaxFs.Commands.DismountDaxFsCommand'
        $e.TargetObject | Should -Be '/mnt/tmp'
        { Dismount-DaxFs /mnt/none -WhatIf -ErrorAction Stop } | Should -Throw -ErrorId 'NotMounted,DaxFs.Commands.DismountDaxFsCommand'
    }
    It 'needs root' {
        $env:DAXFS_ASSUME_ROOT = '0'
        { Get-DaxFsMount | Dismount-DaxFs -Confirm:$false } | Should -Throw -ErrorId 'NotRoot,DaxFs.Commands.DismountDaxFsCommand'
    }
}

Describe 'Tab completion' {
    BeforeEach { $h = New-FakeHost }

    It 'completes -Device from /sys/bus/dax/devices' {
        $r = TabExpansion2 -inputScript ($s = 'Write-DaxFsImage x.daxfs -Device dax') -cursorColumn $s.Length
        $r.CompletionMatches.CompletionText | Should -Be @('dax0.0', 'dax1.0')
        $r = TabExpansion2 -inputScript ($s = 'Set-DaxDevice dax1') -cursorColumn $s.Length
        $r.CompletionMatches.CompletionText | Should -Be @('dax1.0')
    }
    It 'completes -Heap from /dev/dma_heap' {
        $heaps = New-Item -ItemType Directory (Join-Path $h.Root 'dev/dma_heap')
        New-Item (Join-Path $heaps 'system'), (Join-Path $heaps 'cma') | Out-Null
        $env:DAXFS_DMA_HEAP = $heaps.FullName
        $r = TabExpansion2 -inputScript ($s = 'New-DmaBuf -Heap ') -cursorColumn $s.Length
        $r.CompletionMatches.CompletionText | Should -Be @('cma', 'system')
    }
    It 'completes mount points of daxfs mounts only' {
        Set-Content $h.MountInfo @(
            "61 27 0:52 / /mnt/dax\040root ro - daxfs dax0.0 ro,phys=0x100a00000,size=526385152,static"
            "63 27 0:54 / /mnt/tmp rw - tmpfs tmpfs rw"
        )
        $r = TabExpansion2 -inputScript ($s = 'Dismount-DaxFs ') -cursorColumn $s.Length
        $r.CompletionMatches.CompletionText | Should -Be @("'/mnt/dax root'")
    }
}
