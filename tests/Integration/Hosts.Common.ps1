# Dot-sourced by the two guests of the hosts boot (HostsWriter/HostsReader.Tests.ps1): two kernels, each in its own VM,
# started on one --memory-file, so that their NVDIMMs are the same bytes (hosts on one memory pool). They take turns
# through signal files in the shared data folder (DAXFS_HOSTS_DIR/sync); the host (Invoke-HostsBoot.ps1) reads the memory
# file offline between the turns. The layout of the 256 MiB NVDIMM (hosts.json, written by the host):
#   [0, 96 MiB)    the static image the writer places with Write-DaxFsImage and both guests mount
#   [96, 128 MiB)  a branching image (placed by the host before boot) whose siblings the two kernels make
#   [128, 160 MiB) the fleet runbook's region (written over SSH remoting after the Pester files)
. $PSScriptRoot/Guest.Common.ps1
$script:HostsDir = $env:DAXFS_HOSTS_DIR
$script:Hosts = Get-Content -Raw (Join-Path $HostsDir 'hosts.json') | ConvertFrom-Json
$script:Sync = Join-Path $HostsDir 'sync'
$script:StaticPhys = $Phys + [uint64]$Hosts.StaticOffset
$script:BranchPhys = $Phys + [uint64]$Hosts.BranchOffset

function Send-Signal([string] $Name) { Set-Content -LiteralPath (Join-Path $Sync $Name) ([DateTimeOffset]::UtcNow.ToString('o')) }
# Waits for NAME (written by the other guest or the host); throws after SECONDS, naming what it waited for.
function Wait-Signal([string] $Name, [int] $Seconds = 600) {
    $limit = [DateTime]::UtcNow.AddSeconds($Seconds)
    while (-not (Test-Path -LiteralPath (Join-Path $Sync $Name))) {
        if ([DateTime]::UtcNow -gt $limit) { throw "Waited $Seconds s for the signal '$Name' (the other guest or the host did not get there)." }
        Start-Sleep -Milliseconds 200
    }
}
# Facts measured in this guest, for the host's report (results/hosts-ROLE.json).
$script:Measured = [ordered]@{}
function Save-Measured([string] $Role) { [pscustomobject]$Measured | ConvertTo-Json -Depth 5 | Set-Content (Join-Path $Data "results/hosts-$Role.json") }
function Get-MemInfo {
    $m = @{}
    foreach ($l in Get-Content /proc/meminfo) { if ($l -match '^(\w+):\s+(\d+)') { $m[$Matches[1]] = [long]$Matches[2] * 1KB } }
    [pscustomobject]@{ Cached = $m.Cached; MemAvailable = $m.MemAvailable; Shmem = $m.Shmem }
}
# Every file of the expected listing (made on the host from the source tree) compared through MOUNT: type, size, link
# target and SHA-256; returns the differences.
function Compare-Tree([string] $MountPoint) {
    $diff = [Collections.Generic.List[string]]::new()
    foreach ($e in $Hosts.Expected) {
        $p = Join-Path $MountPoint $e.Path.TrimStart('/')
        $i = Get-Item -LiteralPath $p -Force -ErrorAction SilentlyContinue
        if (-not $i) { $diff.Add("missing $($e.Path)"); continue }
        if ($e.Type -eq 'File') {
            if ($i.Length -ne $e.Size) { $diff.Add("size $($e.Path)") }
            elseif ((Get-FileHash -LiteralPath $p -Algorithm SHA256).Hash -ne $e.Sha256) { $diff.Add("content $($e.Path)") }
        }
        elseif ($e.Type -eq 'SymbolicLink' -and $i.LinkTarget -ne $e.Target) { $diff.Add("link $($e.Path)") }
    }
    $n = @(Get-ChildItem -LiteralPath $MountPoint -Recurse -Force).Count
    if ($n -ne @($Hosts.Expected).Count) { $diff.Add("$n entries, expected $(@($Hosts.Expected).Count)") }
    $diff.ToArray()
}
# The first 8 bytes of the static region as the memory holds them now (O_DIRECT: no page cache of /dev/pmem0).
function Get-Head { (& dd if=/dev/pmem0 bs=4096 count=1 iflag=direct status=none | head -c 8) -join '' }
