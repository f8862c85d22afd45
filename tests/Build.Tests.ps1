# build.ps1 and .ci/run: the build refuses a module with a cmdlet that has no help, and CI runs the command README.md shows.
BeforeAll { . (Join-Path $PSScriptRoot 'Common.ps1') }

Describe 'Build' {
    BeforeAll {
        # A copy of what Assert-Help reads (it runs before anything is compiled): the build script, the manifest,
        # docs/, en-US/ and the cmdlet sources.
        function New-BuildCopy {
            $dir = Join-Path $TestDrive ([guid]::NewGuid())
            New-Item -ItemType Directory (Join-Path $dir 'src') | Out-Null
            Copy-Item (Join-Path $RepoRoot 'build.ps1'), (Join-Path $RepoRoot 'DaxFs.psd1') $dir
            Copy-Item -Recurse (Join-Path $RepoRoot 'docs'), (Join-Path $RepoRoot 'en-US') $dir
            Copy-Item -Recurse (Join-Path $RepoRoot 'src/DaxFs') (Join-Path $dir 'src/DaxFs') -Exclude bin, obj
            $dir
        }
        function Invoke-BuildCopy([string] $Dir) {
            $pwsh = Get-PwshCommand
            # The exception's message on one line (pwsh's error view wraps it to the console's width).
            $run = Join-Path $Dir 'run.ps1'
            Set-Content $run 'try { & (Join-Path $PSScriptRoot build.ps1) Build } catch { $_.Exception.Message; exit 1 }'
            $output = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File $run 2>&1
            [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($output | Out-String) }
        }
    }

    It 'fails when a cmdlet in the sources has no help page' {
        $dir = New-BuildCopy
        Set-Content (Join-Path $dir 'src/DaxFs/Commands/GetDaxFsNothingCommand.cs') '[Cmdlet(VerbsCommon.Get, "DaxFsNothing")]'
        $r = Invoke-BuildCopy $dir
        $r.ExitCode | Should -Not -Be 0
        $r.Output | Should -Match 'Get-DaxFsNothing has no page docs/Get-DaxFsNothing\.md'
    }

    It 'fails when a page is not in the compiled help' {
        $dir = New-BuildCopy
        $maml = Join-Path $dir 'en-US/DaxFs.dll-Help.xml'
        (Get-Content -Raw $maml) -replace '<command:name>Get-DaxFsItem</command:name>', '<command:name>Renamed</command:name>' | Set-Content $maml
        $r = Invoke-BuildCopy $dir
        $r.ExitCode | Should -Not -Be 0
        $r.Output | Should -Match 'Get-DaxFsItem is not in en-US/DaxFs\.dll-Help\.xml'
    }

    It 'fails when the compiled help is missing' {
        $dir = New-BuildCopy
        Remove-Item (Join-Path $dir 'en-US/about_DaxFs.help.txt')
        $r = Invoke-BuildCopy $dir
        $r.ExitCode | Should -Not -Be 0
        $r.Output | Should -Match 'en-US/about_DaxFs\.help\.txt is missing'
    }

    It 'cleans the output of every project, bench/ and fuzz/ included' {
        $dir = Join-Path $TestDrive ([guid]::NewGuid())
        New-Item -ItemType Directory $dir | Out-Null
        Copy-Item (Join-Path $RepoRoot 'build.ps1') $dir
        $made = 'out/DaxFs', 'src/A/bin/Release', 'src/A/obj', 'tests/T/bin', 'tests/T/TestResults', 'bench/B/bin', 'bench/B/obj', 'fuzz/F/bin', 'fuzz/F/obj'
        foreach ($d in $made) { New-Item -ItemType Directory -Force (Join-Path $dir $d) | Out-Null; Set-Content (Join-Path $dir "$d/x") 'x' }
        Set-Content (Join-Path $dir 'bench/B/Program.cs') 'source'
        $pwsh = Get-PwshCommand
        & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File (Join-Path $dir 'build.ps1') Clean
        $LASTEXITCODE | Should -Be 0
        foreach ($d in $made) { Join-Path $dir $d | Should -Not -Exist }
        Join-Path $dir 'bench/B/Program.cs' | Should -Exist
    }

    It 'stages the engine and the cmdlets compiled ahead (ReadyToRun) for the .NET that runs the build' {
        # Without it each process JIT-compiles the validator on its first Test-DaxFsImage or mount gate (build/Bench.ps1).
        $staged = Split-Path -Parent $env:DAXFS_MODULE_PATH
        foreach ($dll in 'DaxFs.Core.dll', 'DaxFs.dll') {
            $pe = [Reflection.PortableExecutable.PEReader]::new([IO.File]::OpenRead((Join-Path $staged $dll)))
            try { $pe.PEHeaders.CorHeader.ManagedNativeHeaderDirectory.Size | Should -BeGreaterThan 0 -Because "$dll carries precompiled code" }
            finally { $pe.Dispose() }
        }
        # The IL the tests build (and every PowerShell loads when the precompiled code is not for its .NET) has none.
        $il = [Reflection.PortableExecutable.PEReader]::new([IO.File]::OpenRead((Join-Path $RepoRoot 'src/DaxFs.Core/bin/Release/net8.0/DaxFs.Core.dll')))
        try { $il.PEHeaders.CorHeader.ManagedNativeHeaderDirectory.Size | Should -Be 0 } finally { $il.Dispose() }
    }

    It 'runs in CI the test command that README.md shows' {
        $line = Get-Content (Join-Path $RepoRoot '.ci/run') | Where-Object { $_ -match "^cmd='(.+)'$" } | Select-Object -First 1
        $line | Should -Not -BeNullOrEmpty -Because '.ci/run names its command in one line cmd=''...'''
        $command = ($line -replace "^cmd='(.+)'$", '$1')
        $command | Should -Match 'build\.ps1 Test$'
        @(Get-Content (Join-Path $RepoRoot 'README.md') | ForEach-Object Trim) | Should -Contain $command
    }
}
