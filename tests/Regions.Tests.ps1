# Get-DaxRegion (ndctl list -R) and the region errors of the namespace cmdlets, against a fake host: ndctl played by
# tests/fixtures/linux/fake-tool.sh answering with recorded output, a sysfs tree in TestDrive (FakeHost.ps1).
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Fixtures = Join-Path $PSScriptRoot 'fixtures/linux'
    $script:SavedEnv = Save-FakeHostEnvironment

    function New-FakeRegionHost([string[]] $Regions = @('region0')) {
        $root = New-FakeHostRoot
        foreach ($r in $Regions) { New-Item -ItemType Directory -Force (Join-Path $root "sys/bus/nd/devices/$r") | Out-Null }
        New-Item -ItemType Directory -Force (Join-Path $root 'sys/bus/nd/devices/namespace0.0') | Out-Null
        $tools = Add-FakeTool $root
        # ndctl list --regions answers with the recorded region listing, ndctl list --namespaces with the namespaces.
        Set-FakeToolAnswer $tools ndctl 'list.--regions' 'ndctl-list-R.devdax.json'
        Set-FakeToolAnswer $tools ndctl list 'ndctl-list-N.devdax.json'
        Set-FakeHostEnvironment -SysfsRoot $root -Tools $tools -AssumeRoot 1
        [pscustomobject]@{ Root = $root; Tools = $tools }
    }
    function Get-ToolLog([string] $Tool) { $p = Join-Path $h.Tools "$Tool.log"; if (Test-Path $p) { @(Get-Content $p) } else { @() } }
}

AfterAll { Restore-FakeHostEnvironment $SavedEnv }

Describe 'Get-DaxRegion' {
    BeforeEach { $h = New-FakeRegionHost }

    It 'lists the regions ndctl lists, as typed objects' {
        $r = Get-DaxRegion
        $r | Should -BeOfType DaxFs.DaxRegion
        $r.Name | Should -Be 'region0'
        $r.Size | Should -Be 536870912
        $r.AvailableSize | Should -Be 0
        $r.MaxAvailableExtent | Should -Be 0
        $r.Align | Should -Be 16MB
        $r.Type | Should -Be 'pmem'
        Get-ToolLog ndctl | Should -Be @('list --regions')
    }
    It 'passes -Idle to ndctl' {
        Get-DaxRegion -Idle | Out-Null
        Get-ToolLog ndctl | Should -Be @('list --regions --idle')
    }
    It 'selects by name and wildcard, and reports a missing one without stopping' {
        (Get-DaxRegion region*).Name | Should -Be 'region0'
        $out = Get-DaxRegion nosuch, region0 -ErrorVariable errs -ErrorAction SilentlyContinue
        $out.Name | Should -Be 'region0'
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'DaxRegionNotFound,DaxFs.Commands.GetDaxRegionCommand'
        $errs[0].TargetObject | Should -Be 'nosuch'
        $errs[0].Exception.Message | Should -Match 'region0'
        Get-ToolLog ndctl | Should -Be @('list --regions', 'list --regions') -Because 'one listing per call, not per name'
    }
    It 'takes region names and regions from the pipeline' {
        ('region0' | Get-DaxRegion).Name | Should -Be 'region0'
        (Get-DaxRegion | Get-DaxRegion).Name | Should -Be 'region0'
        (Get-DaxRegion (Get-DaxNamespace).Region).Name | Should -Be 'region0'
    }
    It 'shows size, free space and alignment in its table' {
        Get-DaxRegion | Format-Table | Out-String -Width 80 | Should -Match 'region0\s+pmem\s+512 MiB\s+0 B\s+0 B\s+16 MiB\s+enabled\s+unknown'
    }
    It 'completes region names' {
        $h = New-FakeRegionHost -Regions 'region0', 'region1'
        $r = TabExpansion2 -inputScript ($s = 'Get-DaxRegion reg') -cursorColumn $s.Length
        $r.CompletionMatches.CompletionText | Should -Be @('region0', 'region1')
    }
}

Describe 'Region errors of the namespace cmdlets' {
    BeforeEach { $h = New-FakeRegionHost }

    It 'Get-DaxNamespace -Region nosuch says which regions exist, without stopping' {
        Set-Content (Join-Path $h.Tools 'ndctl.list.--namespaces.stdout') '' -NoNewline
        $out = Get-DaxNamespace -Region nosuch -ErrorVariable errs -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'DaxRegionNotFound,DaxFs.Commands.GetDaxNamespaceCommand'
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errs[0].TargetObject | Should -Be 'nosuch'
        $errs[0].Exception.Message | Should -Match 'Regions here: region0'
        Get-ToolLog ndctl | Should -Be @('list --namespaces --region=nosuch', 'list --regions --idle')
    }
    It 'Get-DaxNamespace -Region of a region without namespaces is no error' {
        Set-Content (Join-Path $h.Tools 'ndctl.list.--namespaces.stdout') '' -NoNewline
        Get-DaxNamespace -Region region0 -ErrorVariable errs | Should -BeNullOrEmpty
        $errs | Should -BeNullOrEmpty
    }
    It 'New-DaxNamespace in a region that does not exist points at Get-DaxRegion' {
        # Refused before ndctl runs (the region is not in sysfs), as under -WhatIf.
        $e = { New-DaxNamespace -Region region9 -Mode devdax -Size 64MB -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'DaxRegionNotFound,DaxFs.Commands.NewDaxNamespaceCommand'
        $e.Exception.Message | Should -Match 'Get-DaxRegion lists the regions'
    }
    It 'an ndctl failure over a region points at Get-DaxRegion' {
        Copy-Item (Join-Path $Fixtures 'ndctl-create-namespace.noregion-237.stderr') (Join-Path $h.Tools 'ndctl.create-namespace.stderr')
        Set-Content (Join-Path $h.Tools 'ndctl.create-namespace.exit') 237
        $e = { New-DaxNamespace -Region region0 -Mode devdax -Size 64MB -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'NdctlFailed,DaxFs.Commands.NewDaxNamespaceCommand'
        $e.Exception.Message | Should -Match 'Get-DaxRegion lists the regions'
    }
}
