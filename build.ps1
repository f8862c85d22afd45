#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds, tests, documents, benchmarks and packages the DaxFs module.
.DESCRIPTION
    Tasks (several may be given, they run in order):
      Build        compile and stage an importable module under out/DaxFs (default)
      Test         Build, then every test: xunit (engine), Pester (cmdlets), Integration (real kernel in a VM)
      Unit         xunit only            Pester   Pester only            Integration   VM tests only
      Docs         compile docs/*.md into en-US/ (MAML help and about topic)
      Demo         build an image of a small sample tree and show what is in it (no root, no hardware)
      Bench        speed and memory benchmarks (not tests)
      Fuzz         coverage-guided fuzzing of the reader/validator for -Minutes minutes
      Package      publish the staged module to a local PSResourceGet repository (out/repo)
      Clean        remove build output
.EXAMPLE
    dotnet tool restore; dotnet pwsh ./build.ps1 Test
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Unit', 'Pester', 'Integration', 'Docs', 'Demo', 'Bench', 'Fuzz', 'Package', 'Clean')]
    [string[]] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Fuzz: how long to run.
    [double] $Minutes = 5,

    # Integration: an operator's own kernel image and daxfs.ko (default: ../shared/vm/kernel).
    [string] $Kernel = $env:DAXFS_KERNEL,
    [string] $KernelModule = $env:DAXFS_KERNEL_MODULE,
    # Integration: the format-8 daxfs.ko for the v8 boot (default: ../shared/vm/kernel/daxfs-v8.ko).
    [string] $KernelModule8 = $env:DAXFS_KERNEL_MODULE8
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$Root = $PSScriptRoot
$Out = Join-Path $Root 'out'
$Staged = Join-Path $Out 'DaxFs'
$Results = Join-Path $Out 'TestResults'
$script:Counts = [ordered]@{ Passed = 0; Failed = 0; Skipped = 0 }

function Invoke-Native {
    param([string] $File, [string[]] $Arguments, [switch] $AllowFailure)
    Write-Verbose "$File $($Arguments -join ' ')"
    & $File @Arguments | Out-Host
    if ($LASTEXITCODE -ne 0 -and -not $AllowFailure) { throw "'$File $($Arguments -join ' ')' failed with exit code $LASTEXITCODE." }
    $LASTEXITCODE
}

function Get-Version {
    $props = [xml](Get-Content -Raw (Join-Path $Root 'Directory.Build.props'))
    $props.Project.PropertyGroup.VersionPrefix | Where-Object { $_ } | Select-Object -First 1
}

function Get-CmdletName {
    # Every cmdlet the sources declare ([Cmdlet(VerbsX.Verb, "Noun")]) and every one the manifest exports.
    $declared = Get-ChildItem -Path (Join-Path $Root 'src/DaxFs') -Filter *.cs -Recurse | Select-String -Pattern '\[Cmdlet\(Verbs\w+\.(\w+),\s*"(\w+)"' |
        ForEach-Object { '{0}-{1}' -f $_.Matches[0].Groups[1].Value, $_.Matches[0].Groups[2].Value }
    $exported = (Import-PowerShellDataFile (Join-Path $Root 'DaxFs.psd1')).CmdletsToExport
    @(@($declared) + @($exported) | Sort-Object -Unique)
}

function Assert-Help {
    # Fails the build when a cmdlet has no page in docs/ or no entry in the compiled help, or a help file is missing.
    $problems = [Collections.Generic.List[string]]::new()
    foreach ($h in 'DaxFs.dll-Help.xml', 'about_DaxFs.help.txt') {
        if (-not (Test-Path -LiteralPath (Join-Path $Root "en-US/$h"))) { $problems.Add("en-US/$h is missing") }
    }
    $maml = Join-Path $Root 'en-US/DaxFs.dll-Help.xml'
    $compiled = if (Test-Path -LiteralPath $maml) {
        $ns = @{ command = 'http://schemas.microsoft.com/maml/dev/command/2004/10' }
        @(Select-Xml -LiteralPath $maml -XPath '//command:details/command:name' -Namespace $ns | ForEach-Object { $_.Node.InnerText.Trim() })
    }
    else { @() }
    foreach ($name in Get-CmdletName) {
        if (-not (Test-Path -LiteralPath (Join-Path $Root "docs/$name.md"))) { $problems.Add("$name has no page docs/$name.md") }
        elseif ($name -cnotin $compiled) { $problems.Add("$name is not in en-US/DaxFs.dll-Help.xml") }
    }
    if ($problems.Count) { throw "Help is incomplete: $($problems -join '; '). Write the missing docs/*.md page and run the Docs task." }
}

# The cmdlets and the engine compiled ahead of time (ReadyToRun) for the .NET runtime of the PowerShell that runs this
# build: without it every process JIT-compiles the validator on its first Test-DaxFsImage or Mount-DaxFs gate, which
# build/Bench.ps1 measured as most of that first call. The IL stays net8.0, so the module loads on every supported
# PowerShell; .NET uses the precompiled code only on the runtime it was compiled for (same major version) and
# JIT-compiles elsewhere, as without it. Needs the runtime pack and crossgen2 of that version from NuGet (the SDK restores
# them); when they cannot be had, the module is staged without precompiled code and a warning says why.
function Publish-ReadyToRun {
    $runtime = [Environment]::Version
    $rid = [Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier
    $dir = Join-Path $Out 'r2r'
    if (Test-Path $dir) { Remove-Item -Recurse -Force $dir }
    $arguments = @('publish', (Join-Path $Root 'src/DaxFs/DaxFs.csproj'), '-c', $Configuration, '-r', $rid, '--self-contained', 'false',
        '-p:PublishReadyToRun=true', "-p:RuntimeFrameworkVersion=$($runtime.Major).$($runtime.Minor).$($runtime.Build)", '-o', $dir, '--nologo', '-v', 'q', '-clp:ErrorsOnly')
    $output = & dotnet @arguments 2>&1
    if ($LASTEXITCODE -ne 0 -or -not (Test-Path (Join-Path $dir 'DaxFs.Core.dll'))) {
        Write-Warning ("Staging DaxFs without ReadyToRun code for .NET $runtime ($rid): 'dotnet $($arguments -join ' ')' failed " +
            "(it needs Microsoft.NETCore.App.Runtime.$rid and Microsoft.NETCore.App.Crossgen2.$rid $runtime from NuGet). The module works; " +
            "each process JIT-compiles the engine on first use. $(($output | Select-Object -Last 5) -join ' ')")
        return $null
    }
    $dir
}

function Invoke-Build {
    Assert-Help
    Invoke-Native dotnet @('build', (Join-Path $Root 'src/DaxFs/DaxFs.csproj'), '-c', $Configuration, '--nologo', '-v', 'q', '-clp:ErrorsOnly') | Out-Null
    $bin = Join-Path $Root "src/DaxFs/bin/$Configuration/net8.0"
    $r2r = Publish-ReadyToRun
    if ($r2r) { $bin = $r2r }
    if (Test-Path $Staged) { Remove-Item -Recurse -Force $Staged }
    New-Item -ItemType Directory -Force (Join-Path $Staged 'en-US') | Out-Null
    $files = @(
        @{ From = Join-Path $bin 'DaxFs.dll'; To = $Staged }
        @{ From = Join-Path $bin 'DaxFs.Core.dll'; To = $Staged }
        # zstd and xz decompression for tarballs and container image layers (NuGet ZstdSharp.Port, SharpCompress).
        @{ From = Join-Path $bin 'ZstdSharp.dll'; To = $Staged }
        @{ From = Join-Path $bin 'SharpCompress.dll'; To = $Staged }
        @{ From = Join-Path $Root 'src/DaxFs/DaxFs.Format.ps1xml'; To = $Staged }
        @{ From = Join-Path $Root 'LICENSE'; To = $Staged }
    )
    # Compiled help (the Docs task makes it from docs/; Assert-Help has checked that it covers every cmdlet).
    foreach ($h in 'DaxFs.dll-Help.xml', 'about_DaxFs.help.txt') { $files += @{ From = Join-Path $Root "en-US/$h"; To = Join-Path $Staged 'en-US' } }
    foreach ($f in $files) {
        if (-not (Test-Path -LiteralPath $f.From)) { throw "Build output is incomplete: '$($f.From)' is missing." }
        Copy-Item -LiteralPath $f.From -Destination $f.To
    }
    Copy-Sample (Join-Path $Staged 'samples')
    $version = Get-Version
    $manifest = (Get-Content -Raw (Join-Path $Root 'DaxFs.psd1')) -replace "ModuleVersion\s*=\s*'[^']*'", "ModuleVersion        = '$version'"
    Set-Content -LiteralPath (Join-Path $Staged 'DaxFs.psd1') -Value $manifest -NoNewline
    Write-Host "Staged DaxFs $version in $Staged"
}

# The sample images shipped in the module's samples folder (samples/README.md): the test vectors, a damaged copy of
# basic.static.daxfs, and the kernel-written branch fixtures. The help examples run against a copy of this folder.
function Copy-Sample([string] $Destination) {
    $vectors = Join-Path $Root 'tests/vectors'
    New-Item -ItemType Directory -Force (Join-Path $Destination 'branches') | Out-Null
    # big.branching.daxfs is left out: its 4 MiB of file data do not compress and big.static.daxfs holds the same tree.
    $from = @(Get-ChildItem $vectors -Filter '*.daxfs' | Where-Object Name -ne 'big.branching.daxfs') +
        @(Get-Item (Join-Path $vectors 'make-trees.sh'), (Join-Path $Root 'samples/README.md'))
    if (-not (Test-Path (Join-Path $vectors 'basic.static.daxfs'))) { throw "Build output is incomplete: the sample images in $vectors are missing." }
    Copy-Item -LiteralPath $from.FullName -Destination $Destination
    $branches = @(Get-ChildItem (Join-Path $Root 'tests/fixtures/branches') -Filter '*.daxfs')
    if ($branches.Count -lt 2) { throw 'Build output is incomplete: the branch fixtures in tests/fixtures/branches are missing.' }
    Copy-Item -LiteralPath $branches.FullName -Destination (Join-Path $Destination 'branches')
    # overlay/: the format-8 images whose overlay the real kernel wrote, with the backing file of the split one.
    $overlay = @(Get-ChildItem (Join-Path $Root 'tests/fixtures/overlay') -File | Where-Object Extension -in '.daxfs', '.backing')
    if ($overlay.Count -lt 3) { throw 'Build output is incomplete: the overlay fixtures in tests/fixtures/overlay are missing.' }
    New-Item -ItemType Directory -Force (Join-Path $Destination 'overlay') | Out-Null
    Copy-Item -LiteralPath $overlay.FullName -Destination (Join-Path $Destination 'overlay')
    # damaged.daxfs: basic with inode 18 (/a/five000) zeroed (inode table at 0x2000, 64 bytes a record), so a dirent
    # names an inode of no type (INODE-TYPE).
    $bytes = [IO.File]::ReadAllBytes((Join-Path $vectors 'basic.static.daxfs'))
    [Array]::Clear($bytes, 0x2000 + 17 * 64, 64)
    [IO.File]::WriteAllBytes((Join-Path $Destination 'damaged.daxfs'), $bytes)
}

function Get-PesterModule {
    Invoke-Native dotnet @('restore', (Join-Path $Root 'tests/tools.proj'), '--nologo', '-v', 'q') | Out-Null
    $cache = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    $psd1 = Get-ChildItem -Path (Join-Path $cache 'pester') -Filter Pester.psd1 -Recurse | Where-Object { $_.Directory.Name -eq 'tools' } |
        Sort-Object { [version]$_.Directory.Parent.Name } -Descending | Select-Object -First 1
    if (-not $psd1) { throw "Pester was not restored into $cache (dotnet restore tests/tools.proj)." }
    $psd1.FullName
}

function Add-Counts([int] $Passed, [int] $Failed, [int] $Skipped, [string] $Suite) {
    $script:Counts.Passed += $Passed; $script:Counts.Failed += $Failed; $script:Counts.Skipped += $Skipped
    Write-Host ("{0}: {1} passed, {2} failed, {3} skipped" -f $Suite, $Passed, $Failed, $Skipped)
}

function Invoke-UnitTests {
    $trx = Join-Path $Results 'unit.trx'
    if (Test-Path $trx) { Remove-Item $trx }
    $code = Invoke-Native dotnet @('test', (Join-Path $Root 'tests/DaxFs.Core.Tests/DaxFs.Core.Tests.csproj'), '-c', $Configuration, '--nologo',
        '--logger', 'trx;LogFileName=unit.trx', '--logger', 'console;verbosity=minimal', '--results-directory', $Results) -AllowFailure
    if (-not (Test-Path $trx)) { Add-Counts 0 1 0 'xunit (no results: the build failed)'; return }
    $c = ([xml](Get-Content -Raw $trx)).TestRun.ResultSummary.Counters
    Add-Counts ([int]$c.passed) ([int]$c.failed + [int]$c.error + [int]$c.timeout + [int]$c.aborted) ([int]$c.notExecuted) 'xunit'
    if ($code -ne 0 -and [int]$c.failed -eq 0) { Add-Counts 0 1 0 "xunit (dotnet test exited $code)" }
}

function Invoke-PesterSuite([string] $Tag = '', [string[]] $Path = @((Join-Path $Root 'tests'))) {
    $pester = Get-PesterModule
    $json = Join-Path $Results 'pester.json'
    if (Test-Path $json) { Remove-Item $json }
    $runner = Join-Path $Root 'tests/Invoke-PesterSuite.ps1'
    $code = Invoke-Native dotnet @('pwsh', '-NoProfile', '-NonInteractive', '-File', $runner, '-PesterPath', $pester,
        '-ModulePath', (Join-Path $Staged 'DaxFs.psd1'), '-ResultFile', $json, '-TestPath', ($Path -join ',')) -AllowFailure
    if (-not (Test-Path $json)) { Add-Counts 0 1 0 "Pester (no results; exit $code)"; return }
    $r = Get-Content -Raw $json | ConvertFrom-Json
    Add-Counts $r.Passed $r.Failed $r.Skipped 'Pester'
}

function Install-Prerequisite {
    # Debian tools the integration tests need (tests/Integration/Prerequisites.psd1); installed only when missing and only as root.
    $need = Import-PowerShellDataFile (Join-Path $Root 'tests/Integration/Prerequisites.psd1')
    $missing = @($need.Keys | Sort-Object | Where-Object { -not (Get-Command $_ -ErrorAction Ignore) } | ForEach-Object { $need[$_] })
    if (-not $missing) { return }
    if ((id -u) -ne '0' -or -not (Get-Command apt-get -ErrorAction Ignore)) {
        Write-Warning "Missing Debian packages for the integration tests: $($missing -join ' ') (run as root: apt-get install -y $($missing -join ' '))."
        return
    }
    Write-Host "Installing $($missing -join ' ') from Debian"
    $env:DEBIAN_FRONTEND = 'noninteractive'
    Invoke-Native apt-get @('update', '-qq') -AllowFailure | Out-Null
    $install = @('install', '-y', '-qq', '--no-install-recommends') + $missing
    Invoke-Native apt-get $install -AllowFailure | Out-Null
}

function Invoke-IntegrationTests {
    $script = Join-Path $Root 'tests/Integration/Invoke-Integration.ps1'
    if (-not (Test-Path $script)) { Write-Host 'Integration: no integration suite yet.'; return }
    Install-Prerequisite
    $json = Join-Path $Results 'integration.json'
    if (Test-Path $json) { Remove-Item $json }
    $args2 = @('pwsh', '-NoProfile', '-NonInteractive', '-File', $script, '-ResultFile', $json, '-PesterPath', (Get-PesterModule))
    if ($Kernel) { $args2 += @('-Kernel', $Kernel) }
    if ($KernelModule) { $args2 += @('-KernelModule', $KernelModule) }
    if ($KernelModule8) { $args2 += @('-KernelModule8', $KernelModule8) }
    $code = Invoke-Native dotnet $args2 -AllowFailure
    if (-not (Test-Path $json)) { Add-Counts 0 1 0 "Integration (no results; exit $code)"; return }
    $r = Get-Content -Raw $json | ConvertFrom-Json
    if ($r.PSObject.Properties['SkipReason'] -and $r.SkipReason) { Write-Host "Integration tests skipped: $($r.SkipReason)" }
    Add-Counts $r.Passed $r.Failed $r.Skipped 'Integration'
}

function Invoke-Docs {
    # platyPS's New-ExternalHelp when a maintainer has platyPS installed; otherwise the build's own converter, which
    # makes the same MAML from the same schema (platyPS is not in the package sources the build machines reach).
    $docs = Join-Path $Root 'docs'
    $enUS = Join-Path $Root 'en-US'
    $platy = Get-Module -ListAvailable -Name platyPS | Sort-Object Version -Descending | Select-Object -First 1
    if ($platy) {
        Import-Module $platy -Force
        New-ExternalHelp -Path $docs -OutputPath $enUS -Encoding ([Text.UTF8Encoding]::new($false)) -Force | Out-Null
        Write-Host "Compiled docs/ into en-US/ with platyPS $($platy.Version) (New-ExternalHelp)"
    }
    else {
        & (Join-Path $Root 'build/Convert-HelpMarkdown.ps1') -DocsPath $docs -OutputPath $enUS
        Write-Host 'Compiled docs/ into en-US/ with build/Convert-HelpMarkdown.ps1 (platyPS is not installed)'
    }
}

function Invoke-Demo {
    Invoke-Build
    Invoke-Native dotnet @('pwsh', '-NoProfile', '-NonInteractive', '-File', (Join-Path $Root 'build/Demo.ps1'), '-ModulePath', (Join-Path $Staged 'DaxFs.psd1')) | Out-Null
}

New-Item -ItemType Directory -Force $Out, $Results | Out-Null
$testing = $false
foreach ($t in $Task) {
    switch ($t) {
        'Build' { Invoke-Build }
        'Docs' { Invoke-Docs }
        'Demo' { Invoke-Demo }
        'Clean' {
            # out/ (staged module, test results, bench and fuzz work) and every project's bin/ and obj/.
            $projects = 'src', 'tests', 'bench', 'fuzz' | ForEach-Object { Join-Path $Root $_ } | Where-Object { Test-Path $_ }
            foreach ($d in @($Out) + @(Get-ChildItem -Path $projects -Directory -Recurse -Include bin, obj, TestResults | ForEach-Object FullName)) {
                if (Test-Path $d) { Remove-Item -Recurse -Force $d }
            }
        }
        'Unit' { $testing = $true; Invoke-Build; Invoke-UnitTests }
        'Pester' { $testing = $true; Invoke-Build; Invoke-PesterSuite }
        'Integration' { $testing = $true; Invoke-Build; Invoke-IntegrationTests }
        'Test' { $testing = $true; Invoke-Build; Install-Prerequisite; Invoke-UnitTests; Invoke-PesterSuite; Invoke-IntegrationTests }
        'Bench' { Invoke-Build; & (Join-Path $Root 'build/Bench.ps1') -ModulePath (Join-Path $Staged 'DaxFs.psd1') }
        'Fuzz' { & (Join-Path $Root 'build/Fuzz.ps1') -Minutes $Minutes }
        'Package' {
            Invoke-Build
            $repo = Join-Path $Out 'repo'
            New-Item -ItemType Directory -Force $repo | Out-Null
            Invoke-Native dotnet @('pwsh', '-NoProfile', '-NonInteractive', '-File', (Join-Path $Root 'build/Package.ps1'), '-ModulePath', $Staged, '-RepositoryPath', $repo) | Out-Null
        }
    }
}
if ($testing) {
    Write-Host ''
    Write-Host ('{0} passed, {1} failed' -f $script:Counts.Passed, $script:Counts.Failed)
    if ($script:Counts.Failed -gt 0) { exit 1 }
}
