<#
.SYNOPSIS
    Inventories and audits the DAX memory of a host: regions, namespaces, dax devices, dma-heaps, daxfs mounts, and
    which image each holds, with validation findings.

.DESCRIPTION
    Returns one object per region (ndctl), namespace (Get-DaxNamespace), dax device (Get-DaxDevice), dma-heap
    (/dev/dma_heap) and daxfs mount (Get-DaxFsMount), all of one shape so they export to CSV and JSON as they are.
    For every dax device in devdax mode and every mount of a device or physical range, the image in the memory is
    copied out with Save-DaxFsImage and described from its superblock (mode, total size, inode count, SHA-256), and
    Test-DaxFsImage's findings are attached. A dma-buf mount's memory cannot be read from another process; it is listed
    without an image.

    Severity is Error when something is unsafe or broken: a mount whose memory holds no DAXFS image or an image that
    fails validation, an image larger than the size it is mounted with (the kernel crashes on that), a device left
    disabled; Warning for the unusual but harmless (a static image mounted read-write, a missing tool). With -FailOn
    (Error by default) the script ends with exit code 1 when any row reaches that severity, for CI; 0 otherwise.

    Reads only; needs root to read device memory and physical addresses (as a user, the image columns stay empty and
    say why).

.PARAMETER CsvPath
    Also write the rows to this CSV file.

.PARAMETER JsonPath
    Also write the rows to this JSON file.

.PARAMETER FailOn
    The severity that makes the exit code 1: Error (default), Warning, or None.

.PARAMETER WorkDirectory
    Where the images copied out of memory are kept while they are examined. Default: daxfs-inventory in the temp
    folder; emptied at the end.

.EXAMPLE
    ./Get-DaxHostInventory.ps1 | Format-Table Kind, Name, State, MountPoint, ImageMode, Severity, Findings

.EXAMPLE
    pwsh -NoProfile -File ./Get-DaxHostInventory.ps1 -JsonPath /var/log/daxfs-inventory.json -FailOn Warning > /dev/null
    echo $?

    In CI: writes the report and fails the job on any warning or error.

.OUTPUTS
    DaxFs.Runbook.InventoryItem: Kind (Region, Namespace, DaxDevice, DmaHeap, Mount), Name, State, Size,
    PhysicalAddress, MountPoint, Source, ImageMode, ImageSize, InodeCount, ImageSha256, Severity (OK, Warning,
    Error), Findings, Detail.
#>
#Requires -Version 7.4
#Requires -Modules DaxFs
[CmdletBinding()]
[OutputType('DaxFs.Runbook.InventoryItem')]
param(
    [string] $CsvPath,
    [string] $JsonPath,
    [ValidateSet('Error', 'Warning', 'None')]
    [string] $FailOn = 'Error',
    [string] $WorkDirectory = (Join-Path ([IO.Path]::GetTempPath()) 'daxfs-inventory')
)

Set-StrictMode -Version Latest
$rows = [Collections.Generic.List[object]]::new()
$images = @{}

function Add-Row([string] $Kind, [string] $Name, [hashtable] $Fields = @{}) {
    $row = [ordered]@{
        PSTypeName = 'DaxFs.Runbook.InventoryItem'; Kind = $Kind; Name = $Name; State = $null; Size = $null; PhysicalAddress = $null
        MountPoint = $null; Source = $null; ImageMode = $null; ImageSize = $null; InodeCount = $null; ImageSha256 = $null
        Severity = 'OK'; Findings = $null; Detail = $null
    }
    foreach ($k in $Fields.Keys) { $row[$k] = $Fields[$k] }
    $o = [pscustomobject]$row
    $rows.Add($o)
    $o
}
function Add-Finding($Row, [string] $Severity, [string] $Text) {
    if ($Severity -eq 'Error' -or ($Severity -eq 'Warning' -and $Row.Severity -eq 'OK')) { $Row.Severity = $Severity }
    $Row.Findings = (@($Row.Findings | Where-Object { $_ }) + $Text) -join '; '
}
function Hex($v) { if ($null -ne $v) { '0x{0:x}' -f [long]$v } }

# The image at the start of some memory: copied out once per range, described, validated.
function Read-Image([string] $Key, [hashtable] $Source) {
    if ($images.ContainsKey($Key)) { return $images[$Key] }
    $file = Join-Path $WorkDirectory ("image-{0}.daxfs" -f ($Key -replace '[^A-Za-z0-9.]', '_'))
    $info = [ordered]@{ Image = $null; Sha256 = $null; Errors = @(); Warnings = @(); Problem = $null }
    try {
        $info.Image = Save-DaxFsImage @Source -Destination $file -Force -ErrorAction Stop
        $info.Sha256 = (Get-FileHash -LiteralPath $file -Algorithm SHA256).Hash
        $findings = @(Test-DaxFsImage -Image $file -Detailed)
        $info.Errors = @($findings | Where-Object { "$($_.Severity)" -eq 'Error' } | ForEach-Object { "$($_.RuleId): $($_.Message)" })
        $info.Warnings = @(@($findings | Where-Object { "$($_.Severity)" -ne 'Error' }).RuleId | Sort-Object -Unique)
    }
    catch { $info.Problem = $_ }
    $images[$Key] = [pscustomobject]$info
    $images[$Key]
}
function Set-ImageColumns($Row, $Info, [switch] $Mounted) {
    if ($Info.Image) {
        $Row.ImageMode = "$($Info.Image.Mode)"; $Row.ImageSize = $Info.Image.TotalSize; $Row.InodeCount = $Info.Image.InodeCount; $Row.ImageSha256 = $Info.Sha256
        foreach ($e in $Info.Errors) { Add-Finding $Row Error $e }
        if ($Info.Warnings) { $Row.Detail = "validation warnings: $($Info.Warnings -join ', ')" }
        return
    }
    $id = "$($Info.Problem.FullyQualifiedErrorId)" -replace ',.*'
    if ($id -eq 'NoDaxFsImageAtTarget') {
        if ($Mounted) { Add-Finding $Row Error 'the mounted memory holds no DAXFS image (overwritten under the mount?)' } else { $Row.Detail = 'no DAXFS image' }
    }
    elseif ($id -eq 'NotRoot') { Add-Finding $Row Warning 'image not read: run as root to read device memory' }
    else { Add-Finding $Row Error "image unreadable: $($Info.Problem)" }
}

New-Item -ItemType Directory -Force -Path $WorkDirectory | Out-Null
try {
    # Regions, straight from ndctl.
    $ndctl = Get-Command ndctl -ErrorAction Ignore
    if (-not $ndctl) { Add-Row Region '(none)' @{ Severity = 'Warning'; Findings = 'ndctl is not installed (apt-get install ndctl)' } | Out-Null }
    else {
        $json = ndctl list --regions 2>$null
        foreach ($r in @(if ($json) { "$json" | ConvertFrom-Json })) {
            Add-Row Region $r.dev @{ Size = $r.size; State = if ($r.PSObject.Properties['state']) { $r.state } else { 'enabled' }
                Detail = "type $($r.type), $($r.available_size) bytes available" } | Out-Null
        }
    }
    foreach ($n in @(Get-DaxNamespace -WarningAction SilentlyContinue -ErrorAction SilentlyContinue)) {
        $row = Add-Row Namespace $n.Name @{ State = $n.State; Size = $n.Size; Source = $n.Region; Detail = "mode $($n.Mode)$(if ($n.Device) { ", $($n.Device)" })" }
        if ($n.State -and $n.State -ne 'enabled') { Add-Finding $row Warning "namespace is $($n.State)" }
    }
    $devices = @(Get-DaxDevice -WarningAction SilentlyContinue -ErrorAction SilentlyContinue)
    foreach ($d in $devices) {
        $row = Add-Row DaxDevice $d.Name @{ State = $d.State; Size = $d.Size; PhysicalAddress = Hex $d.PhysicalAddress; Detail = "mode $($d.Mode)" }
        if ($d.State -ne 'enabled') { Add-Finding $row Error "$($d.Name) is $($d.State) (a failed mode change? Set-DaxDevice $($d.Name) -Mode devdax)" }
        elseif ($d.Mode -eq 'devdax') { Set-ImageColumns $row (Read-Image $d.Name @{ Device = $d.Name }) }
    }
    $devRoot = if ($env:DAXFS_DEV_ROOT) { $env:DAXFS_DEV_ROOT } else { '/dev' }
    foreach ($heap in @(Get-ChildItem -LiteralPath (Join-Path $devRoot 'dma_heap') -ErrorAction Ignore)) {
        Add-Row DmaHeap $heap.Name @{ State = 'available'; Detail = $heap.FullName } | Out-Null
    }
    foreach ($m in @(Get-DaxFsMount)) {
        $row = Add-Row Mount $m.MountPoint @{ MountPoint = $m.MountPoint; Source = $m.Source; Size = $m.Size; PhysicalAddress = Hex $m.PhysicalAddress
            State = if ($m.ReadOnly) { 'ro' } else { 'rw' } }
        if ($m.DmaBuf) { $row.Detail = 'dma-buf: its memory is not readable from another process'; continue }
        $holder = $devices | Where-Object { $null -ne $_.PhysicalAddress -and $_.PhysicalAddress -eq $m.PhysicalAddress -and $_.Size -eq $m.Size } | Select-Object -First 1
        $info = if ($holder) { Read-Image $holder.Name @{ Device = $holder.Name } } else { Read-Image (Hex $m.PhysicalAddress) @{ PhysicalAddress = [uint64]$m.PhysicalAddress; Size = [uint64]$m.Size } }
        Set-ImageColumns $row $info -Mounted
        if ($info.Image -and $info.Image.TotalSize -gt $m.Size) { Add-Finding $row Error "the image needs $($info.Image.TotalSize) bytes but is mounted with size=$($m.Size): the kernel can crash" }
        if ($info.Image -and "$($info.Image.Mode)" -eq 'Static' -and -not $m.ReadOnly) { Add-Finding $row Warning 'a static image mounted read-write' }
    }
}
finally {
    Remove-Item -LiteralPath $WorkDirectory -Recurse -Force -ErrorAction SilentlyContinue
}

$rows
if ($CsvPath) { $rows | Export-Csv -LiteralPath $CsvPath -NoTypeInformation -UseQuotes AsNeeded }
if ($JsonPath) { ConvertTo-Json -InputObject @($rows) -Depth 3 | Set-Content -LiteralPath $JsonPath }
$bad = @(switch ($FailOn) { 'Error' { $rows | Where-Object Severity -eq 'Error' } 'Warning' { $rows | Where-Object Severity -ne 'OK' } })
foreach ($b in $bad) { Write-Warning "$($b.Kind) $($b.Name): $($b.Severity): $($b.Findings)" }
exit $(if ($bad.Count) { 1 } else { 0 })
