#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Coverage-guided fuzzing of the image reader and validator, and of the tar and OCI readers (build.ps1 Fuzz -Minutes N).
.DESCRIPTION
    Two targets, one after the other, -Minutes each: Image (DaxFs.Fuzz afl: an image is opened, walked, read and
    validated) and Archive (DaxFs.Fuzz tar-afl: a tarball, OCI layout tar or docker archive is built into an image,
    which must then read and validate, or be refused with a build error and leave nothing behind). For each:
    1. Installs afl-fuzz (Debian package afl++) when it is missing and this runs as root, and the SharpFuzz CLI
       (local dotnet tool, .config/dotnet-tools.json).
    2. Publishes fuzz/DaxFs.Fuzz to out/fuzz/bin and instruments DaxFs.Core.dll there with sharpfuzz.
    3. Writes the seed corpus: images (vectors, cut to their metadata, generated images, every input in
       tests/DaxFs.Core.Tests/FuzzRegressions) to out/fuzz/seeds, archives (ArchiveFuzzTarget's seeds, every input in
       FuzzRegressions/archives) to out/fuzz/archive-seeds.
    4. Runs afl-fuzz for -Minutes (a main instance and, with -Jobs 2 or more, secondaries), then reports
       executions, crashes and hangs. Every crashing input, and every hang that replays as one, is copied into
       tests/DaxFs.Core.Tests/FuzzRegressions/ (archives: FuzzRegressions/archives/) so the unit tests replay it.
    When afl-fuzz cannot run it says why and runs the built-in mutation runner for the same time instead.
    Everything the fuzzer writes stays under out/fuzz (git-ignored).
.EXAMPLE
    dotnet pwsh ./build.ps1 Fuzz -Minutes 30
.EXAMPLE
    dotnet pwsh ./build/Fuzz.ps1 -Minutes 5 -NoAfl
.EXAMPLE
    dotnet pwsh ./build/Fuzz.ps1 -Minutes 10 -Target Archive
#>
[CmdletBinding()]
param(
    [double] $Minutes = 5,

    # The fuzz targets to run, each for -Minutes.
    [ValidateSet('Image', 'Archive')]
    [string[]] $Target = @('Image', 'Archive'),

    # afl-fuzz instances (one per core is the most that helps).
    [ValidateRange(1, 64)]
    [int] $Jobs = [Math]::Max(1, [Math]::Min([Environment]::ProcessorCount, 4)),

    # Skip afl-fuzz: run the built-in mutation runner.
    [switch] $NoAfl,

    # Milliseconds before afl-fuzz calls an execution a hang.
    [int] $TimeoutMs = 5000
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$Root = Split-Path -Parent $PSScriptRoot
$Work = Join-Path $Root 'out/fuzz'
$Bin = Join-Path $Work 'bin'
$Seeds = Join-Path $Work 'seeds'
$ArchiveSeeds = Join-Path $Work 'archive-seeds'
$Backing = Join-Path $Work 'backing.bin'
$Regressions = Join-Path $Root 'tests/DaxFs.Core.Tests/FuzzRegressions'
$ArchiveRegressions = Join-Path $Regressions 'archives'
# What differs between the targets: the program's commands, the seeds, where afl-fuzz works and where findings go.
$Targets = [ordered]@{
    Image = @{ Afl = @('afl', '--backing', $Backing); Replay = @('replay'); Mutate = 'mutate'; Seeds = $Seeds; Findings = (Join-Path $Work 'afl')
               Regressions = $Regressions; Extension = '.daxfs'; Prefix = '' }
    Archive = @{ Afl = @('tar-afl'); Replay = @('tar-replay'); Mutate = 'tar-mutate'; Seeds = $ArchiveSeeds; Findings = (Join-Path $Work 'afl-archive')
               Regressions = $ArchiveRegressions; Extension = '.tar'; Prefix = 'archive-' }
}
$Seconds = [int][Math]::Max(1, [Math]::Round($Minutes * 60))

function Invoke-Tool {
    param([string] $File, [string[]] $Arguments, [switch] $AllowFailure)
    Write-Verbose "$File $($Arguments -join ' ')"
    & $File @Arguments | Out-Host
    if ($LASTEXITCODE -ne 0 -and -not $AllowFailure) { throw "'$File $($Arguments -join ' ')' failed with exit code $LASTEXITCODE." }
    $LASTEXITCODE
}

function Test-Root { (Get-Command id -ErrorAction Ignore) -and ((& id -u) -eq '0') }

# Returns $null when afl-fuzz is there (installing it if it can), else the reason it is not.
function Install-Afl {
    if (-not $IsLinux) { return 'afl-fuzz runs on Linux only' }
    if (Get-Command afl-fuzz -ErrorAction Ignore) { return $null }
    if (-not (Get-Command apt-get -ErrorAction Ignore)) { return 'afl-fuzz is not installed and there is no apt-get to install it (install AFL++)' }
    if (-not (Test-Root)) { return 'afl-fuzz is not installed and this is not root (run: sudo apt-get install afl++)' }
    Write-Host 'Installing afl++ from Debian'
    $env:DEBIAN_FRONTEND = 'noninteractive'
    Invoke-Tool apt-get @('update', '-qq') -AllowFailure | Out-Null
    $code = Invoke-Tool apt-get @('install', '-y', '-qq', '--no-install-recommends', 'afl++') -AllowFailure
    if (-not (Get-Command afl-fuzz -ErrorAction Ignore)) { return "installing afl++ with apt-get failed (exit $code)" }
    $null
}

function Copy-Regression($T, [string] $Path, [string] $Kind) {
    New-Item -ItemType Directory -Force $T.Regressions | Out-Null
    $hash = (Get-FileHash -Algorithm SHA256 -LiteralPath $Path).Hash.Substring(0, 16).ToLowerInvariant()
    $existing = Get-ChildItem -LiteralPath $T.Regressions -File | Where-Object { $_.Length -eq (Get-Item -LiteralPath $Path).Length } |
        Where-Object { (Get-FileHash -Algorithm SHA256 -LiteralPath $_.FullName).Hash.Substring(0, 16).ToLowerInvariant() -eq $hash }
    if ($existing) { return $null }
    $dest = Join-Path $T.Regressions "$Kind-$hash$($T.Extension)"
    Copy-Item -LiteralPath $Path -Destination $dest
    $dest
}

# Replays one input with the uninstrumented runner; $true when it fails (crash or hang).
function Test-Fails($T, [string] $Path) {
    $out = & dotnet (Join-Path $Bin 'DaxFs.Fuzz.dll') @($T.Replay) $Path --backing $Backing --timeout 10 2>&1
    $out | Select-Object -First 6 | ForEach-Object { Write-Host "    $_" }
    $LASTEXITCODE -ne 0
}

function Read-Stats([string] $File) {
    $stats = @{}
    foreach ($line in Get-Content -LiteralPath $File) {
        if ($line -match '^\s*(\S+)\s*:\s*(.*)$') { $stats[$Matches[1]] = $Matches[2].Trim() }
    }
    $stats
}

function Get-Stat($Stats, [string[]] $Names) {
    foreach ($n in $Names) { if ($Stats.ContainsKey($n)) { return [long]$Stats[$n] } }
    0
}

# ---- prepare --------------------------------------------------------------------------------------------------

Push-Location $Root
try {
    Invoke-Tool dotnet @('tool', 'restore') | Out-Null
    if (Test-Path $Bin) { Remove-Item -Recurse -Force $Bin }
    New-Item -ItemType Directory -Force $Work, $Regressions | Out-Null
    Invoke-Tool dotnet @('publish', (Join-Path $Root 'fuzz/DaxFs.Fuzz/DaxFs.Fuzz.csproj'), '-c', 'Release', '-o', $Bin, '--nologo', '-v', 'q', '-clp:ErrorsOnly') | Out-Null

    foreach ($d in $Seeds, $ArchiveSeeds) { if (Test-Path $d) { Remove-Item -Recurse -Force $d } }
    Invoke-Tool dotnet @((Join-Path $Bin 'DaxFs.Fuzz.dll'), 'seeds', $Seeds) | Out-Null
    Move-Item -LiteralPath (Join-Path $Seeds 'archives') -Destination $ArchiveSeeds   # afl-fuzz would read the subfolder too
    Get-ChildItem -LiteralPath $Regressions -File -Filter *.daxfs | ForEach-Object { Copy-Item -LiteralPath $_.FullName -Destination (Join-Path $Seeds "regression-$($_.Name)") }
    if (Test-Path $ArchiveRegressions) {
        Get-ChildItem -LiteralPath $ArchiveRegressions -File | Where-Object Extension -ne '.md' |
            ForEach-Object { Copy-Item -LiteralPath $_.FullName -Destination (Join-Path $ArchiveSeeds "regression-$($_.Name)") }
    }

    $reason = if ($NoAfl) { 'afl-fuzz was not wanted (-NoAfl)' } else { Install-Afl }
    if (-not $reason) {
        Write-Host 'Instrumenting DaxFs.Core.dll with sharpfuzz'
        $code = Invoke-Tool dotnet @('tool', 'run', 'sharpfuzz', (Join-Path $Bin 'DaxFs.Core.dll')) -AllowFailure
        if ($code -ne 0) { $reason = "sharpfuzz could not instrument DaxFs.Core.dll (exit $code)" }
    }

    $aflReason = $reason
    $totals = @()
    foreach ($name in $Target) {
        $T = $Targets[$name]
        $reason = $aflReason
        $Findings = $T.Findings
        $executions = 0L; $crashes = 0L; $hangs = 0L; $copied = @()
        Write-Host "== $name target"

        if (-not $reason) {
            # ---- afl-fuzz ---------------------------------------------------------------------------------------------
            if (Test-Path $Findings) { Remove-Item -Recurse -Force $Findings }
            $env:AFL_SKIP_BIN_CHECK = '1'                       # the target is dotnet; the instrumentation is in DaxFs.Core.dll
            $env:AFL_NO_UI = '1'
            $env:AFL_SKIP_CPUFREQ = '1'
            $env:AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES = '1'   # core_pattern may pipe to a handler here
            $env:AFL_NO_AFFINITY = '1'
            $env:AFL_FAST_CAL = '1'
            $aflTarget = @('--', 'dotnet', (Join-Path $Bin 'DaxFs.Fuzz.dll')) + $T.Afl
            $procs = @()
            for ($j = 0; $j -lt $Jobs; $j++) {
                $instance = if ($j -eq 0) { 'main' } else { "s$j" }
                $role = if ($j -eq 0) { '-M' } else { '-S' }
                $aflArgs = @('-i', $T.Seeds, '-o', $Findings, '-t', "$TimeoutMs", '-m', 'none', '-V', "$Seconds", $role, $instance) + $aflTarget |
                    ForEach-Object { if ($_ -match '\s') { '"' + $_ + '"' } else { $_ } }
                $log = Join-Path $Work "afl-$($T.Prefix)$instance.log"
                Write-Verbose "afl-fuzz $($aflArgs -join ' ')"
                $procs += Start-Process -FilePath 'afl-fuzz' -ArgumentList $aflArgs -RedirectStandardOutput $log -RedirectStandardError "$log.err" -PassThru -NoNewWindow
                if ($j -eq 0) { Start-Sleep -Seconds 2 }
            }
            Write-Host "afl-fuzz: $Jobs instance(s) for $Seconds s; findings in $Findings"
            $deadline = [DateTime]::UtcNow.AddSeconds($Seconds + 300)
            foreach ($p in $procs) {
                $left = [int][Math]::Max(1, ($deadline - [DateTime]::UtcNow).TotalMilliseconds)
                if (-not $p.WaitForExit($left)) { Write-Warning "afl-fuzz (pid $($p.Id)) did not stop on time; stopping it"; Stop-Process -Id $p.Id -ErrorAction Ignore }
            }

            $statsFiles = @(Get-ChildItem -Path $Findings -Filter fuzzer_stats -Recurse -ErrorAction Ignore)
            if ($statsFiles.Count -eq 0) {
                $tail = Get-Content -LiteralPath (Join-Path $Work "afl-$($T.Prefix)main.log") -Tail 25 -ErrorAction Ignore
                $reason = "afl-fuzz did not start: `n$($tail -join "`n")"
            }
            else {
                foreach ($f in $statsFiles) {
                    $s = Read-Stats $f.FullName
                    $e = Get-Stat $s 'execs_done'; $c = Get-Stat $s @('saved_crashes', 'unique_crashes'); $h = Get-Stat $s @('saved_hangs', 'unique_hangs')
                    $paths = if ($s.ContainsKey('corpus_count')) { $s['corpus_count'] } else { $s['paths_total'] }
                    Write-Host ("  {0,-6} {1,12:N0} execs  {2,8} execs/s  {3,6} paths  {4} crashes  {5} hangs" -f $f.Directory.Name, $e, $s['execs_per_sec'], $paths, $c, $h)
                    $executions += $e; $crashes += $c; $hangs += $h
                }
                foreach ($f in Get-ChildItem -Path $Findings -Recurse -File | Where-Object { $_.Directory.Name -eq 'crashes' -and $_.Name -like 'id:*' }) {
                    Write-Host "Crash $($f.FullName):"
                    [void](Test-Fails $T $f.FullName)
                    $d = Copy-Regression $T $f.FullName 'afl-crash'
                    if ($d) { $copied += $d }
                }
                foreach ($f in Get-ChildItem -Path $Findings -Recurse -File | Where-Object { $_.Directory.Name -eq 'hangs' -and $_.Name -like 'id:*' }) {
                    Write-Host "Hang $($f.FullName) (over $TimeoutMs ms under afl-fuzz); replaying with a 10 s limit:"
                    if (Test-Fails $T $f.FullName) {
                        $d = Copy-Regression $T $f.FullName 'afl-hang'
                        if ($d) { $copied += $d }
                    }
                    else { Write-Host '    it finishes in time outside afl-fuzz (a slow execution, not a hang); not copied' }
                }
            }
        }

        if ($reason) {
            # ---- the built-in mutation runner -------------------------------------------------------------------------
            Write-Warning "Not using afl-fuzz: $reason"
            Write-Host "Running the built-in mutation runner for $Seconds s instead (no coverage feedback)."
            $failures = Join-Path $Work "$($T.Prefix)mutate-failures"
            if (Test-Path $failures) { Remove-Item -Recurse -Force $failures }
            $seed = [int]([DateTime]::UtcNow.Ticks % 1000000)
            $mutateArgs = if ($name -eq 'Image') { @('mutate', '--corpus', $Seeds, '--backing', $Backing) } else { @($T.Mutate) }
            $out = & dotnet (Join-Path $Bin 'DaxFs.Fuzz.dll') @mutateArgs --seconds $Seconds --seed $seed --failures $failures 2>&1
            $out | ForEach-Object { Write-Host $_ }
            $last = $out | Where-Object { $_ -match '^execs_done=(\d+) crashes=(\d+) hangs=(\d+)' } | Select-Object -Last 1
            if ($last -and $last -match '^execs_done=(\d+) crashes=(\d+) hangs=(\d+)') {
                $executions = [long]$Matches[1]; $crashes = [long]$Matches[2]; $hangs = [long]$Matches[3]
            }
            else { throw 'The mutation runner did not report its counts.' }
            if (Test-Path $failures) {
                foreach ($f in Get-ChildItem -LiteralPath $failures -File) {
                    $kind = if ($f.Name -like '*hang-*') { 'mutate-hang' } else { 'mutate-crash' }
                    $d = Copy-Regression $T $f.FullName $kind
                    if ($d) { $copied += $d }
                }
            }
        }

        Write-Host ''
        $engine = if ($reason) { 'mutation runner' } else { 'afl-fuzz' }
        Write-Host ("Fuzz {5} ({0}, {1} s): {2:N0} executions, {3} crashes, {4} hangs" -f $engine, $Seconds, $executions, $crashes, $hangs, $name)
        if ($copied) {
            Write-Host "New regression inputs (commit them; the unit tests replay them): "
            $copied | ForEach-Object { Write-Host "  $_" }
            Write-Host "Describe each in $(Join-Path $Regressions 'README.md')."
        }
        $totals += [pscustomobject]@{ Target = $name; Crashes = $crashes; Copied = @($copied).Count }
    }
    $bad = @($totals | Where-Object { $_.Crashes -gt 0 -or $_.Copied -gt 0 })
    if ($bad) { throw "Fuzzing found crashes or new failing inputs ($(($bad | ForEach-Object { "$($_.Target): $($_.Crashes) crash(es), $($_.Copied) new input(s)" }) -join '; ')): see above." }
}
finally {
    Pop-Location
}
