# The device cmdlets (Get-DaxDevice, Set-DaxDevice), the module surface of the device, memory and mount cmdlets, and
# tab completion, against the fake device host (DeviceHost.ps1): no root and no hardware needed.
BeforeAll { . (Join-Path $PSScriptRoot 'DeviceHost.ps1') }
AfterAll { Restore-FakeHostEnvironment $SavedEnv }

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
    It 'reports a missing device under -WhatIf too, and goes on with the next' {
        'dax9.9', 'dax0.0' | Set-DaxDevice -Mode devdax -WhatIf -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'DaxDeviceNotFound,DaxFs.Commands.SetDaxDeviceCommand'
        $errs[0].TargetObject | Should -Be 'dax9.9'
        @(Get-ToolLog daxctl) -match '^reconfigure' | Should -BeNullOrEmpty
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
