# Safety between hosts that share memory: Write-DaxFsImage, New-DaxNamespace -Reconfigure and Remove-DaxNamespace read
# the branch table in the target memory and refuse, unless -Force, when a branch other than main is ACTIVE (mounted by
# a kernel here or on another host). Against the fake device host (DeviceHost.ps1): dax0.0 is a sparse file that
# namespace0.0 holds; the branch table in it is one the reference kernel wrote (tests/fixtures/branches/feature.daxfs).
BeforeAll {
    . (Join-Path $PSScriptRoot 'DeviceHost.ps1')
    $script:Feature = Join-Path $PSScriptRoot 'fixtures/branches/feature.daxfs'
    $script:Nested = Join-Path $PSScriptRoot 'fixtures/branches/nested.daxfs'
    # Puts IMAGE's bytes at the start of the fake dax0.0, as another host's Write-DaxFsImage and mounts leave them.
    function Set-Memory([string] $Image) {
        $bytes = [IO.File]::ReadAllBytes($Image)
        $f = [IO.File]::OpenWrite($h.Node); try { $f.Write($bytes, 0, $bytes.Length) } finally { $f.Dispose() }
    }
}
AfterAll { Restore-FakeHostEnvironment $SavedEnv }

Describe 'Write-DaxFsImage over memory that other kernels mount' {
    BeforeEach { $h = New-FakeHost }

    It 'refuses memory whose branching image has an active branch, naming it, and writes with -Force' {
        Set-Memory $Feature
        $e = { Write-DaxFsImage $Basic -Device dax0.0 -Confirm:$false } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'ImageHasActiveBranches,DaxFs.Commands.WriteDaxFsImageCommand'
        $e.CategoryInfo.Category | Should -Be 'ResourceBusy'
        $e.TargetObject | Should -Be 'dax0.0'
        $e.Exception.Message | Should -Match '1 active branch: feature \(id 2, child of main\)'
        $e.Exception.Message | Should -Match 'another host that shares the memory'
        $e.Exception.Message | Should -Match 'Get-DaxFsBranch .*dax0\.0'
        # nothing was written: the branch table is still there
        (Get-DaxFsBranch $h.Node).Name | Should -Be 'main', 'feature'
        (Write-DaxFsImage $Basic -Device dax0.0 -Force -PassThru -Confirm:$false).Verified | Should -BeTrue
        (Get-DaxFsImage $h.Node).Mode | Should -Be 'Static'
    }
    It 'names every active branch of a chain' {
        Set-Memory $Nested
        $e = { Write-DaxFsImage $Basic -Device dax0.0 -Confirm:$false } | Should -Throw -PassThru
        $e.Exception.Message | Should -Match '2 active branches: feature \(id \d+, child of main\), deep \(id \d+, child of feature\)'
    }
    It 'refuses under -WhatIf too, before it promises anything' {
        Set-Memory $Feature
        { Write-DaxFsImage $Basic -Device dax0.0 -WhatIf } | Should -Throw -ErrorId 'ImageHasActiveBranches,DaxFs.Commands.WriteDaxFsImageCommand'
    }
    It 'writes over a branching image whose only active branch is main (main stays ACTIVE after its first mount)' {
        $copy = Join-Path $TestDrive 'main-only.daxfs'
        Copy-Item $Feature $copy
        # feature's record (slot 1 of the table at 4096): state := ABORTED (3), as a sibling's commit or an unmount leaves it
        $f = [IO.File]::OpenWrite($copy); try { $f.Position = 4096 + 128 + 40; $f.Write([BitConverter]::GetBytes([uint32]3), 0, 4) } finally { $f.Dispose() }
        Set-Memory $copy
        (Write-DaxFsImage $Basic -Device dax0.0 -PassThru -Confirm:$false).Verified | Should -BeTrue
    }
    It 'writes over a static image and over memory without an image' {
        (Write-DaxFsImage $Basic -Device dax0.0 -PassThru -Confirm:$false).Verified | Should -BeTrue
        (Write-DaxFsImage $Sound -Device dax0.0 -PassThru -Confirm:$false).Verified | Should -BeTrue
    }
}

Describe 'New-DaxNamespace -Reconfigure and Remove-DaxNamespace over memory that other kernels mount' {
    BeforeEach { $h = New-FakeHost; Set-Memory $Feature }

    It 'Remove-DaxNamespace refuses, naming the branch, and goes on with the next namespace' {
        Set-Answer ndctl destroy-namespace -StderrFixture 'ndctl-destroy-namespace.ok.stderr'
        Remove-DaxNamespace namespace0.0 -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'ImageHasActiveBranches,DaxFs.Commands.RemoveDaxNamespaceCommand'
        $errs[0].TargetObject | Should -Be 'namespace0.0'
        $errs[0].Exception.Message | Should -Match '^namespace0\.0 \(dax0\.0\) holds a branching image with 1 active branch: feature'
        $errs[0].Exception.Message | Should -Match 'destroying namespace0\.0 pulls the image'
        Get-ToolLog ndctl | Should -Not -Contain 'destroy-namespace --force namespace0.0'
        Remove-DaxNamespace namespace0.0 -Force -Confirm:$false
        (Get-ToolLog ndctl)[-1] | Should -Be 'destroy-namespace --force namespace0.0'
    }
    It 'Remove-DaxNamespace refuses under -WhatIf' {
        Remove-DaxNamespace namespace0.0 -WhatIf -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -Be 'ImageHasActiveBranches,DaxFs.Commands.RemoveDaxNamespaceCommand'
    }
    It 'New-DaxNamespace -Reconfigure refuses, and goes ahead with -Force' {
        Set-Answer ndctl create-namespace -Fixture 'ndctl-create-namespace.fsdax.json'
        $e = { New-DaxNamespace -Reconfigure namespace0.0 -Mode fsdax -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'ImageHasActiveBranches,DaxFs.Commands.NewDaxNamespaceCommand'
        $e.CategoryInfo.Category | Should -Be 'ResourceBusy'
        $e.Exception.Message | Should -Match 'reconfiguring namespace0\.0 pulls the image'
        Get-ToolLog ndctl | Should -Be @('list --namespaces --idle')
        (New-DaxNamespace -Reconfigure namespace0.0 -Mode fsdax -Force -Confirm:$false).BlockDevice | Should -Be 'pmem0'
        (Get-ToolLog ndctl)[-1] | Should -Be 'create-namespace --reconfig=namespace0.0 --mode=fsdax --force'
    }
    It 'does not read the memory without root (the command stops at the root check)' {
        $env:DAXFS_ASSUME_ROOT = '0'
        { Remove-DaxNamespace namespace0.0 -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'NotRoot,DaxFs.Commands.RemoveDaxNamespaceCommand'
    }
}
