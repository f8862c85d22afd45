# Get-, New- and Remove-DaxNamespace against the fake device host (DeviceHost.ps1): ndctl answers with recorded output.
BeforeAll { . (Join-Path $PSScriptRoot 'DeviceHost.ps1') }
AfterAll { Restore-FakeHostEnvironment $SavedEnv }

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
    It 'runs the real run''s checks under -WhatIf: <Set> <Name> that does not exist' -TestCases @(
        @{ Set = 'Reconfigure'; Name = 'nosuch'; Id = 'DaxNamespaceNotFound' }
        @{ Set = 'Region'; Name = 'region9'; Id = 'DaxRegionNotFound' }
    ) {
        $p = @{ $Set = $Name }
        New-DaxNamespace @p -Mode devdax -WhatIf -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be "$Id,DaxFs.Commands.NewDaxNamespaceCommand"
        $errs[0].Exception.Message | Should -Match $(if ($Set -eq 'Region') { 'Here: region0' } else { 'Here: namespace0.0' })
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
        # the namespace's memory is read first (its branch table: SharedMemory.Tests.ps1)
        Get-ToolLog ndctl | Should -Be @('list --namespaces --idle', 'create-namespace --reconfig=namespace0.0 --mode=fsdax --force')
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
