# The runbooks of docs/runbooks as scripts (help, parameters, output types) and the mocking of DaxFs's binary cmdlets
# they rely on; each runbook's own behaviour is in its file (PublishRootfs, ContainerView, UpdateImage, HostInventory).
# The host and the mocks: RunbookHost.ps1.
BeforeAll { . (Join-Path $PSScriptRoot 'RunbookHost.ps1') }
AfterAll { Reset-RunbookHost }

Describe 'The runbooks' {
    It '<_> has comment-based help for itself and every parameter, with examples' -ForEach @(
        'Publish-DaxFsRootfs.ps1', 'Add-DaxFsContainerView.ps1', 'Remove-DaxFsContainerView.ps1', 'Get-DaxHostInventory.ps1', 'Update-DaxFsImage.ps1',
        'Invoke-DaxFsBranchTrial.ps1'
    ) {
        $path = Join-Path $Runbooks $_
        $help = Get-Help $path -Full
        $help.Synopsis | Should -Not -BeLike "$_*"   # without a help block, Get-Help shows the syntax as the synopsis
        "$($help.description.Text)".Length | Should -BeGreaterThan 200
        @($help.examples.example).Count | Should -BeGreaterThan 0
        $cmd = Get-Command $path
        foreach ($p in $cmd.Parameters.Keys | Where-Object { $_ -notin [Management.Automation.PSCmdlet]::CommonParameters + [Management.Automation.PSCmdlet]::OptionalCommonParameters }) {
            ($help.parameters.parameter | Where-Object name -eq $p).description.Text | Should -Not -BeNullOrEmpty -Because "-$p needs a description"
        }
        $cmd.OutputType.Name | Should -BeLike 'DaxFs.Runbook.*'
        if ($_ -ne 'Get-DaxHostInventory.ps1') { $cmd.Parameters.Keys | Should -Contain 'WhatIf' }
    }
}

Describe 'Mocking DaxFs''s binary cmdlets' {
    It 'intercepts a binary cmdlet with its own parameters, so filters and -WhatIf binding work' {
        Mock Mount-DaxFs { 'mocked' } -ParameterFilter { $Device -eq 'dax7.0' }
        (Get-Command Mount-DaxFs -Module DaxFs).CommandType | Should -Be 'Cmdlet'
        Mount-DaxFs -Device dax7.0 -MountPoint /nowhere | Should -Be 'mocked'
        Should -Invoke Mount-DaxFs -Times 1 -Exactly -ParameterFilter { $MountPoint -eq '/nowhere' }
        $e = { Mount-DaxFs -Device dax7.0 -NoSuchParameter 1 -MountPoint /x } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -BeLike 'NamedParameterNotFound,*'
    }
    It 'cannot inject into the module: DaxFs is binary, and the runbooks call it from script scope anyway' {
        { Mock -ModuleName DaxFs -CommandName Get-DaxFsMount { } } | Should -Throw '*is not a Script or Manifest module*Binary*'
    }
    It 'constructs the objects the cmdlets return, for mocks to give back' {
        $m = [DaxFs.DaxFsMount]@{ MountPoint = '/mnt/rootfs'; Source = 'dax0.0'; ReadOnly = $true; PhysicalAddress = $DaxPhys; Size = $DaxSize; Static = $true }
        $m.PhysicalAddress | Should -Be $DaxPhys
        $p = [DaxFs.DaxFsMemoryImage]@{ TargetKind = 'DaxDevice'; Target = 'dax0.0'; Device = 'dax0.0'; Size = $DaxSize; Verified = $true; Sha256 = 'ab' }
        $p.Device | Should -Be 'dax0.0'
    }
}
