# The module ships the sample images its help examples name, in its samples folder (samples/README.md).
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Samples = Join-Path (Split-Path $env:DAXFS_MODULE_PATH) 'samples'
}

Describe 'Sample images in the module' {
    It 'ships a samples folder with its README next to the manifest' {
        Join-Path $Samples 'README.md' | Should -Exist
        (Join-Path (Get-Module DaxFs).ModuleBase 'samples') | Should -Be $Samples
    }
    It 'holds every image a runnable help example names and does not make itself' {
        $pages = & (Join-Path $RepoRoot 'build/Convert-HelpMarkdown.ps1') -DocsPath (Join-Path $RepoRoot 'docs') -ParseOnly
        $missing = foreach ($p in $pages) {
            foreach ($e in $p.Examples) {
                if ($e.Needs.Count -gt 0 -or $e.Code -match 'New-DaxFsImage|Save-DaxFsImage') { continue }
                foreach ($m in [regex]::Matches($e.Code, '\./[\w./*-]+\.daxfs')) {
                    if (-not (Get-ChildItem -Path (Join-Path $Samples $m.Value.Substring(2)) -ErrorAction Ignore)) { "$($p.Name): $($m.Value)" }
                }
            }
        }
        @($missing) | Should -BeNullOrEmpty
    }
    It 'ships images that read as documented' {
        (Get-DaxFsItem (Join-Path $Samples 'basic.static.daxfs') -Recurse).Count | Should -Be 18
        Test-DaxFsImage (Join-Path $Samples 'damaged.daxfs') | Should -BeFalse
        (Test-DaxFsImage (Join-Path $Samples 'damaged.daxfs') -Detailed | Where-Object Severity -eq Error).RuleId | Should -Be 'INODE-TYPE'
        (Get-DaxFsBranch (Join-Path $Samples 'branches/feature.daxfs')).Name | Should -Contain 'feature'
    }
    It 'ships the sources of the images: make-trees.sh makes the trees the vectors were built from' {
        Join-Path $Samples 'make-trees.sh' | Should -Exist
        (Get-FileHash (Join-Path $Samples 'make-trees.sh')).Hash | Should -Be (Get-FileHash (Join-Path $Vectors 'make-trees.sh')).Hash
    }
}
