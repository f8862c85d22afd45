# Dot-sourced by the guests of the hosts boot (HostsWriter/HostsReader/HostsThird.Tests.ps1): three kernels, each in its own
# VM, started on one --memory-file, so that their NVDIMMs are the same bytes (hosts on one memory pool). They take turns
# through signal files in the shared data folder (DAXFS_HOSTS_DIR/sync); the host (Invoke-HostsBoot.ps1) reads the memory
# file offline between the turns. Guests A (writer) and B (reader) see the NVDIMM as a raw namespace (/dev/pmem0);
# guest C (third) as a devdax namespace (dax0.0), whose metadata (the kernel's page structures of that memory) fill the
# NVDIMM's first DataOffset bytes: nobody writes there. C says where its dax0.0 starts (sync/C-ready), and the layout
# of the 256 MiB NVDIMM is relative to that start:
#   [D, D+96 MiB)          the static image the writer places with Write-DaxFsImage; B mounts it by physical range,
#                          C by device (dax0.0); then, once nobody mounts it, the branching image the writer places
#                          there, whose sibling branches A and B make and C lists (and refuses to overwrite)
#   [160 MiB, 192 MiB)     the fleet runbook's region (written over SSH remoting after the Pester files)
. $PSScriptRoot/Guest.Common.ps1
$script:HostsDir = $env:DAXFS_HOSTS_DIR
$script:Hosts = Get-Content -Raw (Join-Path $HostsDir 'hosts.json') | ConvertFrom-Json
$script:Sync = Join-Path $HostsDir 'sync'

# A signal is a file in the sync folder, written whole under another name and then renamed, so that whoever sees the
# name reads the whole content (the folder is shared over 9p with the host and the other guests).
function Send-Signal([string] $Name, [string] $Content = ([DateTimeOffset]::UtcNow.ToString('o'))) {
    $tmp = Join-Path $Sync ".$Name.tmp"
    Set-Content -LiteralPath $tmp $Content
    Move-Item -LiteralPath $tmp (Join-Path $Sync $Name) -Force
}
# The guest whose signals start with each letter (Invoke-HostsBoot.ps1's $GuestSpecs).
$script:GuestBoots = @{ A = 'hosts-writer'; B = 'hosts-reader'; C = 'hosts-third' }
# Waits for NAME (written by another guest or the host); throws after SECONDS, or at once when the guest that sends it
# (by its letter) has finished its Pester files without sending it, naming what it waited for.
function Wait-Signal([string] $Name, [int] $Seconds = 600) {
    $limit = [DateTime]::UtcNow.AddSeconds($Seconds)
    $sender = if ($Name -match '^([A-Z])-' -and $GuestBoots.ContainsKey($Matches[1])) { Join-Path $Sync "$($GuestBoots[$Matches[1]])-suite-done" }
    while (-not (Test-Path -LiteralPath (Join-Path $Sync $Name))) {
        if ([DateTime]::UtcNow -gt $limit) { throw "Waited $Seconds s for the signal '$Name' (the other guest or the host did not get there)." }
        if ($sender -and (Test-Path -LiteralPath $sender) -and -not (Test-Path -LiteralPath (Join-Path $Sync $Name))) { throw "The guest that sends '$Name' finished its tests without sending it (one of its tests failed)." }
        Start-Sleep -Milliseconds 200
    }
}
# Where dax0.0's data starts in the NVDIMM (from guest C, which has it; waited for).
function Get-DataOffset {
    Wait-Signal 'C-ready' 900
    $c = Get-Content -Raw (Join-Path $Sync 'C-ready') | ConvertFrom-Json
    if (-not $c -or -not $c.PSObject.Properties['DataOffset']) { throw "sync/C-ready does not say where dax0.0 starts: '$(Get-Content -Raw (Join-Path $Sync 'C-ready'))'" }
    [uint64]$c.DataOffset
}
# Facts measured in this guest, for the host's report (results/hosts-ROLE.json).
$script:Measured = [ordered]@{}
function Save-Measured([string] $Role) { [pscustomobject]$Measured | ConvertTo-Json -Depth 5 | Set-Content (Join-Path $Data "results/hosts-$Role.json") }
# Drops the clean page cache (Set-Content cannot write to /proc: it is refused access there).
function Clear-PageCache { [IO.File]::WriteAllText('/proc/sys/vm/drop_caches', '3') }
function Get-MemInfo {
    $m = @{}
    foreach ($l in Get-Content /proc/meminfo) { if ($l -match '^(\w+):\s+(\d+)') { $m[$Matches[1]] = [long]$Matches[2] * 1KB } }
    # Buffers: the page cache of block devices is counted there, not in Cached. All: every field, for the differences.
    [pscustomobject]@{ Cached = $m.Cached; Buffers = $m.Buffers; MemAvailable = $m.MemAvailable; Shmem = $m.Shmem; All = $m }
}
# The /proc/meminfo fields that changed most between two Get-MemInfo readings ("Field +bytes"), largest first.
function Get-MemInfoChange($Before, $After, [int] $First = 5) {
    @($After.All.Keys | ForEach-Object { [pscustomobject]@{ Name = $_; Change = $After.All[$_] - $Before.All[$_] } } |
        Where-Object Change | Sort-Object { [math]::Abs($_.Change) } -Descending | Select-Object -First $First |
        ForEach-Object { '{0} {1:+#,0;-#,0}' -f $_.Name, $_.Change })
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
# The first 8 bytes of the image region (at DataOffset) as the memory holds them now (O_DIRECT: no page cache of /dev/pmem0).
function Get-Head([uint64] $Offset) { (& dd if=/dev/pmem0 bs=4096 count=1 skip=$($Offset / 4096) iflag=direct status=none | head -c 8) -join '' }
