<#
.SYNOPSIS
    Replaces the image in a dax device safely: consumers down, write, remount, verify, consumers up; rollback on failure.

.DESCRIPTION
    Builds the new image (or takes a built one), validates it and checks that it fits in the device before anything
    is touched. When the device already holds the same image, nothing else happens. Otherwise the consumers of the
    mount, the OverlayFS views whose lower layer it is (Add-DaxFsContainerView.ps1), are unmounted in reverse mount
    order (their tmpfs upper layers stay, so what the containers wrote survives), then Publish-DaxFsRootfs.ps1 (from
    the same folder) dismounts the image, writes the new one, mounts it and verifies every file through the mount,
    or, when anything fails, writes the previous image back and mounts it again. Finally the views are mounted again,
    in their original order and with their original layers, on whichever image is in place.

    Returns one report; Status Updated, Unchanged, RolledBack or RollbackFailed. A rollback also writes an error.

    Needs root, the daxfs and overlay kernel modules, and mount(8).

.PARAMETER Path
    The directory tree to build the new image from.

.PARAMETER Image
    A new image file that is already built.

.PARAMETER Device
    The dax device that holds the image.

.PARAMETER MountPoint
    Where the image is mounted.

.PARAMETER WorkDirectory
    Where the new image and the saved previous image are kept. Default: daxfs-update in the temp folder.

.EXAMPLE
    ./Update-DaxFsImage.ps1 -Path /srv/rootfs-v2 -Device dax0.0 -MountPoint /mnt/rootfs -Confirm:$false

.EXAMPLE
    ./Update-DaxFsImage.ps1 -Image ./rootfs-v2.daxfs -Device dax0.0 -MountPoint /mnt/rootfs -WhatIf

    Builds nothing new, validates, compares with the device and lists the views it would take down and up.

.OUTPUTS
    DaxFs.Runbook.UpdateReport: Status, Device, MountPoint, Image, ImageSha256, PreviousSha256, Consumers,
    ConsumersRemounted, Publish (the report of Publish-DaxFsRootfs.ps1), Error.

.LINK
    Publish-DaxFsRootfs.ps1

.LINK
    Add-DaxFsContainerView.ps1
#>
#Requires -Version 7.4
#Requires -Modules DaxFs
[CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High', DefaultParameterSetName = 'Tree')]
[OutputType('DaxFs.Runbook.UpdateReport')]
param(
    [Parameter(Mandatory, ParameterSetName = 'Tree')]
    [string] $Path,

    [Parameter(Mandatory, ParameterSetName = 'Image')]
    [string] $Image,

    [Parameter(Mandatory)]
    [string] $Device,

    [Parameter(Mandatory)]
    [string] $MountPoint,

    [string] $WorkDirectory = (Join-Path ([IO.Path]::GetTempPath()) 'daxfs-update')
)

Set-StrictMode -Version Latest
$publish = Join-Path $PSScriptRoot 'Publish-DaxFsRootfs.ps1'
if (-not (Test-Path -LiteralPath $publish)) { throw "Publish-DaxFsRootfs.ps1 must be beside this script ($PSScriptRoot)." }

function Get-MountTable {
    # Parsed by the module's engine; DAXFS_MOUNTINFO (the module's fake-host variable) stands for it in tests.
    [DaxFs.Core.Linux.MountInfo]::Read($(if ($env:DAXFS_MOUNTINFO) { $env:DAXFS_MOUNTINFO } else { '/proc/self/mountinfo' }))
}

$MountPoint = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($MountPoint).TrimEnd('/')
New-Item -ItemType Directory -Force -Path $WorkDirectory -WhatIf:$false -Confirm:$false | Out-Null

# --- 1. The new image: build, validate, does it fit. Nothing changes on the host before step 3. ---
if ($PSCmdlet.ParameterSetName -eq 'Tree') {
    $new = New-DaxFsImage -Path $Path -Destination (Join-Path $WorkDirectory 'new.daxfs') -Owner Root -Force -WhatIf:$false -Confirm:$false -ErrorAction Stop
}
else { $new = Get-DaxFsImage -Image $Image -ErrorAction Stop }
$errors = @(Test-DaxFsImage -Image $new.Path -Detailed | Where-Object { "$($_.Severity)" -eq 'Error' })
if ($errors) { throw "$($new.Path) is not safe to mount: $(($errors | ForEach-Object { "$($_.RuleId): $($_.Message)" }) -join '; ')" }
$dev = Get-DaxDevice -Name $Device -ErrorAction Stop
if ($dev.Size -lt $new.TotalSize) { throw "$($new.Path) needs $($new.TotalSize) bytes; $Device has $($dev.Size). Nothing was changed." }
$newSha = (Get-FileHash -LiteralPath $new.Path -Algorithm SHA256).Hash

$report = [ordered]@{
    PSTypeName = 'DaxFs.Runbook.UpdateReport'; Status = ''; Device = $Device; MountPoint = $MountPoint; Image = $new.Path
    ImageSha256 = $newSha; PreviousSha256 = $null; Consumers = @(); ConsumersRemounted = @(); Publish = $null; Error = $null
}

# --- 2. What is there now, and who uses it. ---
$saved = Join-Path $WorkDirectory "current-$Device.daxfs"
try {
    Save-DaxFsImage -Device $Device -Destination $saved -Force -WhatIf:$false -Confirm:$false -ErrorAction Stop | Out-Null
    $report.PreviousSha256 = (Get-FileHash -LiteralPath $saved -Algorithm SHA256).Hash
}
catch { if ($_.FullyQualifiedErrorId -notmatch '^(NoDaxFsImageAtTarget|UnsupportedImageVersion|ImageLargerThanTarget)') { throw } }
$consumers = @(Get-MountTable | Where-Object {
        $_.FileSystemType -eq 'overlay' -and $_.SuperOptions -match "lowerdir=([^,]*:)?$([regex]::Escape($MountPoint))(,|:|$)"
    } | Sort-Object MountId | ForEach-Object {
        $o = @{}
        foreach ($kv in $_.SuperOptions -split ',') { $k, $v = $kv -split '=', 2; $o[$k] = $v }
        [pscustomobject]@{ MountPoint = $_.MountPoint; Source = $_.Source; Options = "lowerdir=$($o.lowerdir),upperdir=$($o.upperdir),workdir=$($o.workdir)" }
    })
$report.Consumers = @($consumers.MountPoint)
$mounted = [bool](@(Get-DaxFsMount) | Where-Object MountPoint -eq $MountPoint)

if ($report.PreviousSha256 -eq $newSha -and $mounted) {
    $report.Status = 'Unchanged'
    return [pscustomobject]$report
}
$what = "Unmount $($consumers.Count) view(s) ($($report.Consumers -join ', ')), replace the image in $Device with $($new.Path), verify it through $MountPoint, mount the views again"
if (-not $PSCmdlet.ShouldProcess($Device, $what)) { return }

# --- 3. Consumers down (last mounted first), publish (write, remount, verify, or roll back), consumers up. ---
$down = [Collections.Generic.List[object]]::new()
$publishErrors = $null
try {
    for ($i = $consumers.Count - 1; $i -ge 0; $i--) {
        umount $consumers[$i].MountPoint
        if ($LASTEXITCODE -ne 0) { throw "umount $($consumers[$i].MountPoint) failed (exit $LASTEXITCODE): the view is busy. Nothing was written." }
        $down.Add($consumers[$i])
    }
    $report.Publish = & $publish -Image $new.Path -Device $Device -MountPoint $MountPoint -WorkDirectory $WorkDirectory -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable publishErrors
    $report.Status = switch ($report.Publish.Status) { 'Published' { 'Updated' } 'Unchanged' { 'Unchanged' } 'Remounted' { 'Updated' } default { $_ } }
    if ($publishErrors) { $report.Error = "$($publishErrors[0])" }
}
catch {
    $report.Status = 'Failed'
    $report.Error = "$_"
}
finally {
    $consumers | Where-Object { $down.Contains($_) } | ForEach-Object {
        mount -t overlay -o $_.Options $_.Source $_.MountPoint
        if ($LASTEXITCODE -eq 0) { $report.ConsumersRemounted += $_.MountPoint }
        else { $report.Error = "$($report.Error) Remounting the view $($_.MountPoint) failed (exit $LASTEXITCODE).".Trim() }
    }
}
[pscustomobject]$report
if ($report.Status -ne 'Updated' -and $report.Status -ne 'Unchanged') { Write-Error "Updating $Device failed ($($report.Status)): $($report.Error)" }
