<#
.SYNOPSIS
    Runs one boot's Pester files inside the VM (Invoke-Integration.ps1 starts it through run-vm.sh) and writes the
    counts, timings and every test's outcome as JSON.
#>
param(
    [Parameter(Mandatory)] [ValidateSet('raw', 'devdax', 'hostile', 'hosts-writer', 'hosts-reader', 'hosts-third', 'v8')] [string] $Boot,
    [Parameter(Mandatory)] [string] $PesterPath,
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $DataPath,
    [Parameter(Mandatory)] [string] $ResultFile
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
# The guest's clock is the host's (QEMU's RTC): the host put its launch time in DAXFS_IT_LAUNCHED (Unix ms).
$startSeconds = if ($env:DAXFS_IT_LAUNCHED) { ([DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds() - [long]$env:DAXFS_IT_LAUNCHED) / 1000 } else { 0 }
Write-Host ("Guest: {0}, pwsh running {1:0.0} s after the VM was launched" -f (& uname -r), $startSeconds)

Import-Module $PesterPath -Force
Write-Host ("Guest: Pester imported after {0:0.0} s" -f (([DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds() - [long]$env:DAXFS_IT_LAUNCHED) / 1000))
$env:DAXFS_MODULE_PATH = $ModulePath
$env:DAXFS_INTEGRATION_DATA = $DataPath
$env:DAXFS_HOSTS_ROLE = $Boot
$files = switch ($Boot) {
    # Branches.Tests.ps1 needs /dev/pmem0, which PhysicalMemory.Tests.ps1 reconfigures at its end: before it.
    'raw' { 'Writer.Tests.ps1', 'Branches.Tests.ps1', 'PhysicalMemory.Tests.ps1' }
    # Runbooks first: it needs dax0.0 as the boot made it, and Devices.Tests.ps1 ends by destroying and recreating the
    # namespace; Runbooks leaves no mount behind, which Devices.Tests.ps1 counts.
    # WriteSafety.Tests.ps1 kills writers of dax0.0 mid-write and leaves it holding a whole image, unmounted.
    'devdax' { 'Runbooks.Tests.ps1', 'WriteSafety.Tests.ps1', 'Devices.Tests.ps1' }
    'hostile' { 'Hostile.Tests.ps1' }
    # The three guests of the hosts boot, on one memory file (Invoke-HostsBoot.ps1).
    # HostsV8.Tests.ps1 (format 8 on A and B at once) switches to the format-8 module and back.
    'hosts-writer' { 'HostsWriter.Tests.ps1', 'HostsV8.Tests.ps1' }
    'hosts-reader' { 'HostsReader.Tests.ps1', 'HostsV8.Tests.ps1' }
    'hosts-third' { 'HostsThird.Tests.ps1' }
    'v8' { 'V8.Tests.ps1' }
}
$config = New-PesterConfiguration
$config.Run.Path = @($files | ForEach-Object { Join-Path $PSScriptRoot $_ })
$config.Run.PassThru = $true
# For a quicker look at a few tests while working: DAXFS_IT_FILTER=pattern;pattern (Pester full-name wildcards; run-vm.sh
# passes DAXFS_* variables into the guest). CI leaves it unset.
if ($env:DAXFS_IT_FILTER) { $config.Filter.FullName = @($env:DAXFS_IT_FILTER -split ';') }
$config.Output.Verbosity = 'Detailed'
$config.Output.RenderMode = 'Plaintext'
$watch = [Diagnostics.Stopwatch]::StartNew()
$result = Invoke-Pester -Configuration $config
$watch.Stop()

[pscustomobject]@{
    Boot = $Boot
    Kernel = (& uname -r)
    Passed = $result.PassedCount
    Failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
    Skipped = $result.SkippedCount
    StartSeconds = [math]::Round($startSeconds, 1)
    TestSeconds = [math]::Round($watch.Elapsed.TotalSeconds, 1)
    # Hostile.Tests.ps1 leaves its counts here (refused, mounted and read, refused by the kernel).
    # (Only the boot that makes them: boots run side by side on one data folder.)
    Hostile = $(if ($Boot -eq 'hostile' -and (Test-Path -LiteralPath (Join-Path $DataPath 'results/hostile-counts.json'))) { Get-Content -Raw (Join-Path $DataPath 'results/hostile-counts.json') | ConvertFrom-Json } else { $null })
    V8 = $(if ($Boot -eq 'v8' -and (Test-Path -LiteralPath (Join-Path $DataPath 'results/v8-counts.json'))) { Get-Content -Raw (Join-Path $DataPath 'results/v8-counts.json') | ConvertFrom-Json } else { $null })
    Tests = @($result.Tests | ForEach-Object { [pscustomobject]@{ Name = $_.ExpandedPath; Result = $_.Result; Seconds = [math]::Round($_.Duration.TotalSeconds, 2) } })
} | ConvertTo-Json -Depth 4 | Set-Content -LiteralPath $ResultFile
exit 0
