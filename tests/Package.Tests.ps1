# build/Package.ps1: the staged module published to a folder repository, saved from it into a temporary module
# path, imported in a clean pwsh -NoProfile, and run.
BeforeAll { . (Join-Path $PSScriptRoot 'Common.ps1') }

Describe 'Package' {
    It 'publishes, installs from the local repository, imports in a clean pwsh and runs a cmdlet' {
        $staged = Split-Path $env:DAXFS_MODULE_PATH
        $repo = Join-Path $TestDrive 'repo'
        $r = & (Join-Path $PSScriptRoot '../build/Package.ps1') -ModulePath $staged -RepositoryPath $repo 6>$null
        $r.Version | Should -Be (Test-ModuleManifest $env:DAXFS_MODULE_PATH).Version
        Test-Path $r.Package | Should -BeTrue
        $r.Cmdlets | Should -Be (Test-ModuleManifest $env:DAXFS_MODULE_PATH).ExportedCmdlets.Count
        $r.Synopsis | Should -Not -BeNullOrEmpty
        $r.Ran | Should -Be 'Static'
        $r.SampleEntries | Should -Be 18 -Because 'the package ships samples/basic.static.daxfs (18 entries)'
    }
}
