# The repository is self-contained: the vectors the tests read live in it, and the real-kernel suite says how to point
# it at a VM kit when none is found.
BeforeAll { . (Join-Path $PSScriptRoot 'Common.ps1') }

Describe 'Test vectors in the repository' {
    It 'reads the vectors from tests/vectors, not from outside the clone' {
        $Vectors | Should -Be (Join-Path $RepoRoot 'tests/vectors')
        foreach ($name in 'basic', 'wide', 'deep', 'empty', 'big') {
            foreach ($mode in 'static', 'branching') { Join-Path $Vectors "$name.$mode.daxfs" | Should -Exist }
        }
        foreach ($name in 'basic', 'wide', 'deep', 'empty', 'big', 'stride') { Join-Path $Vectors "$name.expected.json" | Should -Exist }
        Join-Path $Vectors 'make-trees.sh' | Should -Exist
    }
    It 'holds each vector with the SHA-256 its README records' {
        $readme = Get-Content -Raw (Join-Path $Vectors 'README.md')
        $files = @(Get-ChildItem $Vectors -File | Where-Object Name -ne 'README.md')
        $files.Count | Should -BeGreaterThan 10
        foreach ($f in $files) {
            $readme | Should -Match ('(?m)^{0}  {1}$' -f (Get-FileHash $f.FullName -Algorithm SHA256).Hash.ToLowerInvariant(), [regex]::Escape($f.Name)) -Because "$($f.Name) is listed in tests/vectors/README.md"
        }
    }
    It 'has no test, build script or fuzzer that reads ../shared/vectors' {
        $hits = Get-ChildItem (Join-Path $RepoRoot 'tests'), (Join-Path $RepoRoot 'build'), (Join-Path $RepoRoot 'fuzz'), (Join-Path $RepoRoot 'bench') -Recurse -File -Include *.ps1, *.cs |
            Where-Object FullName -NotLike '*/bin/*' | Where-Object FullName -NotLike '*/obj/*' |
            Select-String -Pattern 'shared[/\\]vectors|''vectors''\)?\s*$' -List | Where-Object Path -ne $PSCommandPath
        @($hits | ForEach-Object { "$($_.Path):$($_.LineNumber): $($_.Line.Trim())" }) | Should -BeNullOrEmpty
    }
}

Describe 'The real-kernel suite without a VM kit' {
    It 'skips and says how to point it at a kit or an own kernel' {
        $empty = Join-Path $TestDrive 'no-kit'
        New-Item -ItemType Directory $empty | Out-Null
        $result = Join-Path $TestDrive 'integration.json'
        $pwsh = @([Environment]::ProcessPath)
        if ([IO.Path]::GetFileNameWithoutExtension($pwsh[0]) -eq 'dotnet') { $pwsh += (Join-Path $PSHOME 'pwsh.dll') }
        $old = $env:DAXFS_VM_KIT
        try {
            $env:DAXFS_VM_KIT = $empty
            $out = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File (Join-Path $RepoRoot 'tests/Integration/Invoke-Integration.ps1') `
                -ResultFile $result -PesterPath 'unused' -ModulePath $env:DAXFS_MODULE_PATH 6>&1 2>&1 | Out-String
        }
        finally { $env:DAXFS_VM_KIT = $old }
        $LASTEXITCODE | Should -Be 0
        $r = Get-Content -Raw $result | ConvertFrom-Json
        # One skip per boot of the default set (the -Boot parameter's default value).
        $ast = [Management.Automation.Language.Parser]::ParseFile((Join-Path $RepoRoot 'tests/Integration/Invoke-Integration.ps1'), [ref] $null, [ref] $null)
        $defaultBoots = @(($ast.ParamBlock.Parameters | Where-Object { $_.Name.VariablePath.UserPath -eq 'Boot' }).DefaultValue.SafeGetValue())
        $defaultBoots | Should -Contain 'v8'
        $r.Skipped | Should -Be $defaultBoots.Count
        $r.SkipReason | Should -BeLike "no VM kit at $empty*"
        foreach ($hint in 'DAXFS_VM_KIT', '-Kit', '-Kernel', '-KernelModule', 'DAXFS_KERNEL') { $r.SkipReason | Should -BeLike "*$hint*" }
        $out | Should -BeLike '*Integration tests skipped: no VM kit*DAXFS_VM_KIT*'
    }
}
