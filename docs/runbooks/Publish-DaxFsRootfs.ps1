<#
.SYNOPSIS
    Publishes a root file system to DAX memory: build, validate, write, mount read-only, verify every file.

.DESCRIPTION
    Builds a static DAXFS image from a directory tree (or takes a built one), validates it with Test-DaxFsImage,
    writes it to a dax device or a new dma-buf, mounts it read-only and compares every file, directory and symbolic
    link seen through the mount with the image (SHA-256 of each file's content, size, type, link target, and the
    number of entries). Returns one report object.

    Idempotent: when the dax device already holds the same image (same superblock fields and the same SHA-256 of
    the whole image, read back with Save-DaxFsImage; timestamps play no part, images have none) nothing is written
    and only the mount is made sure of. For a dma-buf, whose memory only its mount can reach, an existing mount
    whose content matches the image counts as the same.

    On any failure after the first change, the previous state comes back: the new image is unmounted, the previous
    image (saved with Save-DaxFsImage before writing) is written back and mounted again where it was. The report then
    says RolledBack, and an error follows it. A dma-buf image is mounted and verified at a staging mount point first;
    the previous mount is replaced only by a verified one.

    Refuses, before changing anything, an image with validation errors, a branching or split image (the kernel
    writes into those when it mounts them, so they could never compare equal), an image larger than the device, a
    device mounted somewhere else, and a mount point that OverlayFS views use as their lower layer (use
    Update-DaxFsImage.ps1, which takes the views down and back up).

    Needs root, the daxfs kernel module, and for -DmaBuf a dma-heap.

.PARAMETER Path
    The directory tree to build the image from (New-DaxFsImage, static mode), or a container base image: a tarball,
    an OCI image layout (directory or tar) or a docker save archive, built without unpacking (see -Reference).

.PARAMETER Image
    An image file that is already built.

.PARAMETER Device
    The dax device (devdax mode) to write the image to, such as dax0.0.

.PARAMETER DmaBuf
    Place the image in a new dma-buf from -Heap instead of a dax device.

.PARAMETER Heap
    The dma-heap for -DmaBuf (an entry of /dev/dma_heap). Default: system.

.PARAMETER MountPoint
    Where the image is mounted read-only. Created when missing.

.PARAMETER Owner
    With -Path: Root records every file as owned by 0:0 (the default for a directory, as a root file system built by
    an unprivileged user needs); Keep keeps the owners of the tree. For a tarball or container image the default is
    Keep: its headers carry the real owners.

.PARAMETER Reference
    With -Path of an OCI layout or docker archive: the tag of the image to publish (New-DaxFsImage -Reference).

.PARAMETER Platform
    With -Path of an OCI layout or docker archive: the os/architecture of the image (default linux/amd64).

.PARAMETER Exclude
    With -Path: wildcards of paths to leave out of the image (New-DaxFsImage -Exclude).

.PARAMETER WorkDirectory
    Where the built image and the saved previous image are kept. Default: daxfs-publish in the temp folder.

.EXAMPLE
    ./Publish-DaxFsRootfs.ps1 -Path /srv/rootfs -Device dax0.0 -MountPoint /mnt/rootfs -Confirm:$false

    Builds /srv/rootfs, writes it to dax0.0, mounts it at /mnt/rootfs and verifies it. Run it again: Status is then
    Unchanged and nothing is written.

.EXAMPLE
    ./Publish-DaxFsRootfs.ps1 -Path ./busybox-layout -Reference latest -Device dax0.0 -MountPoint /mnt/busybox -Confirm:$false

    Publishes a container base image from an OCI layout (skopeo copy docker://busybox oci:./busybox-layout:latest)
    into DAX memory, owners as the image has them; Add-DaxFsContainerView.ps1 then gives each container its view.

.EXAMPLE
    ./Publish-DaxFsRootfs.ps1 -Image ./rootfs.daxfs -Device dax0.0 -MountPoint /mnt/rootfs -WhatIf

    Validates the image, reads what dax0.0 holds and says what would change, without changing anything.

.EXAMPLE
    ./Publish-DaxFsRootfs.ps1 -Image ./rootfs.daxfs -DmaBuf -MountPoint /mnt/rootfs -Confirm:$false |
        Format-List Status, Target, FilesVerified, ImageSha256

    Places the image in a dma-buf from the system heap.

.OUTPUTS
    DaxFs.Runbook.PublishReport: Status (Published, Unchanged, Remounted, RolledBack, RollbackFailed), Target,
    TargetKind, MountPoint, Image, ImageSha256, TotalSize, InodeCount, PreviousSha256, HeaderMatch, ContentMatch,
    Written, FilesVerified, Mismatches, Warnings, Steps, Error.

.LINK
    Update-DaxFsImage.ps1

.LINK
    about_DaxFs
#>
#Requires -Version 7.4
#Requires -Modules DaxFs
[CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High', DefaultParameterSetName = 'Tree')]
[OutputType('DaxFs.Runbook.PublishReport')]
param(
    [Parameter(Mandatory, ParameterSetName = 'Tree')]
    [string] $Path,

    [Parameter(Mandatory, ParameterSetName = 'Image')]
    [string] $Image,

    [string] $Device,

    [switch] $DmaBuf,

    [string] $Heap = 'system',

    [Parameter(Mandatory)]
    [string] $MountPoint,

    [Parameter(ParameterSetName = 'Tree')]
    [ValidateSet('Root', 'Keep')]
    [string] $Owner = 'Root',

    [Parameter(ParameterSetName = 'Tree')]
    [string[]] $Exclude,

    [Parameter(ParameterSetName = 'Tree')]
    [string] $Reference,

    [Parameter(ParameterSetName = 'Tree')]
    [string] $Platform,

    [string] $WorkDirectory = (Join-Path ([IO.Path]::GetTempPath()) 'daxfs-publish')
)

Set-StrictMode -Version Latest

# The mount table.
function Get-MountTable {
    # Parsed by the module's engine; DAXFS_MOUNTINFO (the module's fake-host variable) stands for it in tests.
    [DaxFs.Core.Linux.MountInfo]::Read($(if ($env:DAXFS_MOUNTINFO) { $env:DAXFS_MOUNTINFO } else { '/proc/self/mountinfo' }))
}

# Every entry of the image compared with what the mount shows; returns the differences (none: identical).
function Compare-MountWithImage([string] $ImagePath, [string] $Root) {
    $diff = [Collections.Generic.List[string]]::new()
    $items = @(Get-DaxFsItem -Image $ImagePath -Recurse)
    $files = 0
    foreach ($item in $items) {
        $p = Join-Path $Root $item.FullName.TrimStart('/')
        $seen = Get-Item -LiteralPath $p -Force -ErrorAction SilentlyContinue   # LinkType: SymbolicLink, or HardLink for files with several names
        if (-not $seen) { $diff.Add("missing: $($item.FullName)"); continue }
        switch ($item.Type) {
            'Directory' { if (-not $seen.PSIsContainer -or $seen.LinkType -eq 'SymbolicLink') { $diff.Add("not a directory: $($item.FullName)") } }
            'SymbolicLink' {
                if ($seen.LinkType -ne 'SymbolicLink') { $diff.Add("not a symbolic link: $($item.FullName)") }
                elseif ($seen.LinkTarget -cne $item.Target) { $diff.Add("link target differs: $($item.FullName) -> '$($seen.LinkTarget)', image '$($item.Target)'") }
            }
            'File' {
                $files++
                if ($seen.PSIsContainer -or $seen.LinkType -eq 'SymbolicLink') { $diff.Add("not a file: $($item.FullName)"); break }
                if ($seen.Length -ne $item.Size) { $diff.Add("size differs: $($item.FullName) $($seen.Length) bytes, image $($item.Size)"); break }
                $bytes = $item | Get-DaxFsContent -AsByteStream
                $want = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([byte[]]@($bytes)))
                $got = (Get-FileHash -LiteralPath $p -Algorithm SHA256).Hash
                if ($got -ne $want) { $diff.Add("content differs: $($item.FullName) sha256 $got, image $want") }
            }
        }
    }
    $count = @(Get-ChildItem -LiteralPath $Root -Recurse -Force -ErrorAction SilentlyContinue).Count
    if ($count -ne $items.Count) { $diff.Add("the mount shows $count entries, the image has $($items.Count)") }
    [pscustomobject]@{ Files = $files; Differences = $diff.ToArray() }
}

function Get-Sha256([string] $File) { (Get-FileHash -LiteralPath $File -Algorithm SHA256).Hash }

function Test-SameHeader($A, $B) {
    foreach ($n in 'Version', 'Mode', 'TotalSize', 'BaseOffset', 'BaseSize', 'InodeCount', 'RootInode', 'DataOffset') {
        if ("$($A.$n)" -ne "$($B.$n)") { return $false }
    }
    $true
}

if ([bool]$Device -eq [bool]$DmaBuf) { throw 'Give either -Device NAME or -DmaBuf: the memory to publish the image to.' }
$MountPoint = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($MountPoint).TrimEnd('/')
$steps = [Collections.Generic.List[string]]::new()
function Step([string] $Text) { $steps.Add($Text); Write-Verbose $Text }

# --- 1. The image: build, validate. Nothing on the host changes before step 4. ---
New-Item -ItemType Directory -Force -Path $WorkDirectory -WhatIf:$false -Confirm:$false | Out-Null
if ($PSCmdlet.ParameterSetName -eq 'Tree') {
    $built = Join-Path $WorkDirectory 'rootfs.daxfs'
    $build = @{ Path = $Path; Destination = $built; Owner = $Owner; Force = $true; WhatIf = $false; Confirm = $false; ErrorAction = 'Stop' }
    if ($Exclude) { $build.Exclude = $Exclude }
    if ($Reference) { $build.Reference = $Reference }
    if ($Platform) { $build.Platform = $Platform }
    # A tarball or container image carries its owners in its headers: keep them unless -Owner says otherwise.
    $archive = (Test-Path -LiteralPath $Path -PathType Leaf) -or (Test-Path -LiteralPath (Join-Path $Path 'oci-layout') -PathType Leaf)
    if ($archive -and -not $PSBoundParameters.ContainsKey('Owner')) { $build.Owner = 'Keep' }
    $new = New-DaxFsImage @build
    Step "built $built from $Path ($($new.TotalSize) bytes, $($new.InodeCount) inodes)"
}
else {
    $new = Get-DaxFsImage -Image $Image -ErrorAction Stop
}
if ("$($new.Mode)" -ne 'Static') {
    throw "$($new.Path) is a $($new.Mode) image: publish static images (the kernel writes into branching and split images when it mounts them)."
}
$findings = @(Test-DaxFsImage -Image $new.Path -Detailed)
$errors = @($findings | Where-Object { "$($_.Severity)" -eq 'Error' })
if ($errors) { throw "$($new.Path) is not safe to mount: $(($errors | ForEach-Object { "$($_.RuleId): $($_.Message)" }) -join '; ')" }
$warnings = @(@($findings | Where-Object { "$($_.Severity)" -ne 'Error' }).RuleId | Sort-Object -Unique)
$newSha = Get-Sha256 $new.Path
Step "validated $($new.Path): no errors$(if ($warnings) { ", warnings $($warnings -join ', ')" }); sha256 $newSha"

$report = [ordered]@{
    PSTypeName = 'DaxFs.Runbook.PublishReport'
    Status = ''; Target = if ($DmaBuf) { "dma-buf ($Heap heap)" } else { $Device }; TargetKind = if ($DmaBuf) { 'DmaBuf' } else { 'DaxDevice' }
    MountPoint = $MountPoint; Image = $new.Path; ImageSha256 = $newSha; TotalSize = $new.TotalSize; InodeCount = $new.InodeCount
    PreviousSha256 = $null; HeaderMatch = $null; ContentMatch = $null; Written = $false; FilesVerified = 0
    Mismatches = @(); Warnings = $warnings; Steps = $steps; Error = $null
}

# --- 2. The target and what is mounted. ---
$table = @(Get-MountTable)
$consumers = @($table | Where-Object { $_.FileSystemType -eq 'overlay' -and ($_.SuperOptions -split ',' | Where-Object { $_ -like 'lowerdir=*' }) -match "(=|:)$([regex]::Escape($MountPoint))(:|$)" })
if ($consumers) {
    throw "$MountPoint is the lower layer of $($consumers.Count) OverlayFS view(s) ($(($consumers.MountPoint) -join ', ')): use Update-DaxFsImage.ps1, which takes them down and back up."
}
$current = @(Get-DaxFsMount) | Where-Object MountPoint -eq $MountPoint
$atOther = $table | Where-Object { $_.MountPoint -eq $MountPoint -and $_.FileSystemType -ne 'daxfs' }
if ($atOther) { throw "$MountPoint is a $($atOther.FileSystemType) mount, not daxfs: choose another mount point." }

if ($Device) {
    $dev = Get-DaxDevice -Name $Device -ErrorAction Stop
    if ($dev.Mode -ne 'devdax') { throw "$Device is in $($dev.Mode) mode: switch it with Set-DaxDevice $Device -Mode devdax." }
    if ($dev.Size -lt $new.TotalSize) { throw "$($new.Path) needs $($new.TotalSize) bytes; $Device has $($dev.Size)." }
    $over = @(Get-DaxFsMount | Where-Object {
            $_.PhysicalAddress -and $null -ne $dev.PhysicalAddress -and $_.PhysicalAddress -lt ($dev.PhysicalAddress + $dev.Size) -and $dev.PhysicalAddress -lt ($_.PhysicalAddress + $_.Size)
        })
    $elsewhere = @($over | Where-Object MountPoint -ne $MountPoint)
    if ($elsewhere) { throw "$Device is mounted at $(($elsewhere.MountPoint) -join ', '): dismount it there first, or publish to that mount point." }
    if ($current -and -not ($over | Where-Object MountPoint -eq $MountPoint)) {
        throw "$MountPoint holds a daxfs mount of other memory ($($current.Source)): dismount it first, or choose another mount point."
    }

    # --- 3. What the device holds now. ---
    $saved = Join-Path $WorkDirectory "previous-$Device.daxfs"
    $previous = $null
    try {
        $previous = Save-DaxFsImage -Device $Device -Destination $saved -Force -WhatIf:$false -Confirm:$false -ErrorAction Stop
        $report.PreviousSha256 = Get-Sha256 $saved
        $report.HeaderMatch = Test-SameHeader $previous $new
        $report.ContentMatch = $report.PreviousSha256 -eq $newSha
        Step "$Device holds a $($previous.Mode) image of $($previous.TotalSize) bytes, sha256 $($report.PreviousSha256)"
    }
    catch {
        if ($_.FullyQualifiedErrorId -notmatch '^(NoDaxFsImageAtTarget|UnsupportedImageVersion|ImageLargerThanTarget)') { throw }
        Step "$Device holds no usable image ($($_.FullyQualifiedErrorId -replace ',.*'))"
    }

    if ($report.HeaderMatch -and $report.ContentMatch) {
        # --- Same image: only make sure of the mount. ---
        $report.Status = 'Unchanged'
        if (-not $current) {
            if (-not $PSCmdlet.ShouldProcess($MountPoint, "Mount the image already in $Device read-only")) { return }
            New-Item -ItemType Directory -Force -Path $MountPoint -Confirm:$false | Out-Null
            Mount-DaxFs -Device $Device -MountPoint $MountPoint -Confirm:$false -ErrorAction Stop | Out-Null
            $report.Status = 'Remounted'
            Step "mounted $Device at $MountPoint"
        }
        $check = Compare-MountWithImage $new.Path $MountPoint
        $report.FilesVerified = $check.Files; $report.Mismatches = $check.Differences
        if ($check.Differences) {
            $report.Status = 'Failed'
            $report.Error = "$MountPoint does not show what $Device holds: $($check.Differences -join '; ')"
            [pscustomobject]$report
            Write-Error $report.Error
            return
        }
        Step "verified $($check.Files) files through $MountPoint"
        return [pscustomobject]$report
    }

    $what = "Write $($new.Path) ($($new.TotalSize) bytes) to $Device" +
        $(if ($previous) { " over the image there (sha256 $($report.PreviousSha256), kept in $saved)" } else { '' }) +
        $(if ($current) { ", remounting $MountPoint" } else { ", and mount it read-only at $MountPoint" })
    if (-not $PSCmdlet.ShouldProcess($Device, $what)) { return }

    # --- 4. Change: dismount, write, mount, verify; on any failure put the previous state back. ---
    $wasMounted = [bool]$current
    try {
        if ($wasMounted) { Dismount-DaxFs -MountPoint $MountPoint -Confirm:$false -ErrorAction Stop; Step "dismounted $MountPoint" }
        $report.Written = $true
        $placed = Write-DaxFsImage -Image $new.Path -Device $Device -PassThru -Confirm:$false -ErrorAction Stop
        if (-not $placed.Verified -or $placed.Sha256 -ne $newSha.ToLowerInvariant()) { throw "the read-back of $Device does not match $($new.Path) (sha256 $($placed.Sha256))" }
        Step "wrote $($placed.BytesWritten) bytes to $Device and read them back"
        New-Item -ItemType Directory -Force -Path $MountPoint -Confirm:$false | Out-Null
        $mount = Mount-DaxFs -Device $Device -MountPoint $MountPoint -Confirm:$false -ErrorAction Stop
        if (-not $mount.ReadOnly) { throw "$MountPoint was mounted read-write" }
        Step "mounted $Device read-only at $MountPoint"
        $check = Compare-MountWithImage $new.Path $MountPoint
        $report.FilesVerified = $check.Files; $report.Mismatches = $check.Differences
        if ($check.Differences) { throw "$MountPoint does not match $($new.Path): $($check.Differences -join '; ')" }
        Step "verified $($check.Files) files through $MountPoint"
        $report.Status = 'Published'
        return [pscustomobject]$report
    }
    catch {
        $report.Error = "$_"
        Step "failed: $_"
        try {
            if (@(Get-DaxFsMount) | Where-Object MountPoint -eq $MountPoint) {
                Dismount-DaxFs -MountPoint $MountPoint -Confirm:$false -ErrorAction Stop; Step "rollback: dismounted $MountPoint"
            }
            if ($report.Written -and $previous) {
                $back = Write-DaxFsImage -Image $saved -Device $Device -PassThru -Confirm:$false -ErrorAction Stop
                if ($back.Sha256 -ne $report.PreviousSha256.ToLowerInvariant()) { throw "the previous image did not read back intact" }
                Step "rollback: wrote the previous image back to $Device"
            }
            if ($wasMounted) {
                Mount-DaxFs -Device $Device -MountPoint $MountPoint -Confirm:$false -ErrorAction Stop | Out-Null
                Step "rollback: mounted the previous image at $MountPoint again"
            }
            $report.Status = 'RolledBack'
        }
        catch {
            $report.Status = 'RollbackFailed'
            $report.Error += " Rollback failed: $_"
            Step "rollback failed: $_"
        }
        [pscustomobject]$report
        Write-Error "Publishing $($new.Path) to $Device failed and was $(if ($report.Status -eq 'RolledBack') { 'rolled back' } else { 'NOT rolled back' }): $($report.Error)"
        return
    }
}

# --- dma-buf: the previous mount stays until a new one has been verified at a staging mount point. ---
if ($current) {
    if ($current.DmaBuf) {
        $check = Compare-MountWithImage $new.Path $MountPoint
        if (-not $check.Differences) {
            $report.Status = 'Unchanged'; $report.ContentMatch = $true; $report.FilesVerified = $check.Files
            Step "$MountPoint already shows $($new.Path) ($($check.Files) files match)"
            return [pscustomobject]$report
        }
        $report.ContentMatch = $false
    }
    else { throw "$MountPoint holds a daxfs mount of $($current.Source), not of a dma-buf: dismount it first, or choose another mount point." }
}
$staging = Join-Path $WorkDirectory 'staging'
$what = "Allocate a $($new.TotalSize)-byte dma-buf from the $Heap heap, write $($new.Path) to it and mount it read-only at $MountPoint" +
    $(if ($current) { ' in place of the mount there' } else { '' })
if (-not $PSCmdlet.ShouldProcess("dma-buf ($Heap heap)", $what)) { return }
$buffer = $null
try {
    $buffer = New-DmaBuf -Heap $Heap -Size $new.TotalSize -Confirm:$false -ErrorAction Stop
    $report.Written = $true
    $placed = Write-DaxFsImage -Image $new.Path -DmaBuf $buffer -PassThru -Confirm:$false -ErrorAction Stop
    if (-not $placed.Verified -or $placed.Sha256 -ne $newSha.ToLowerInvariant()) { throw "the read-back of the dma-buf does not match $($new.Path)" }
    Step "wrote $($placed.BytesWritten) bytes to $buffer"
    New-Item -ItemType Directory -Force -Path $staging, $MountPoint -Confirm:$false | Out-Null
    $mount = Mount-DaxFs -DmaBuf $buffer -MountPoint $staging -Confirm:$false -ErrorAction Stop
    if (-not $mount.ReadOnly) { throw "$staging was mounted read-write" }
    Step "mounted the dma-buf read-only at $staging"
    $check = Compare-MountWithImage $new.Path $staging
    $report.FilesVerified = $check.Files; $report.Mismatches = $check.Differences
    if ($check.Differences) { throw "$staging does not match $($new.Path): $($check.Differences -join '; ')" }
    Step "verified $($check.Files) files through $staging"
}
catch {
    $report.Error = "$_"
    if (@(Get-DaxFsMount) | Where-Object MountPoint -eq $staging) { Dismount-DaxFs -MountPoint $staging -Confirm:$false; Step "rollback: dismounted $staging" }
    $report.Status = 'RolledBack'
    [pscustomobject]$report
    Write-Error "Publishing $($new.Path) to a dma-buf failed; $(if ($current) { "$MountPoint still shows the previous image" } else { 'nothing is mounted' }): $($report.Error)"
    return
}
finally { if ($buffer) { $buffer.Dispose() } }   # the mount keeps its own reference

# The verified mount takes the place of the previous one; from here on there is no old buffer to go back to.
if ($current) { Dismount-DaxFs -MountPoint $MountPoint -Confirm:$false -ErrorAction Stop; Step "dismounted the previous image at $MountPoint" }
mount --move $staging $MountPoint
if ($LASTEXITCODE -ne 0) {
    $report.Status = 'RollbackFailed'; $report.Error = "mount --move $staging $MountPoint failed (exit $LASTEXITCODE); the new image stays mounted at $staging"
    [pscustomobject]$report
    Write-Error $report.Error
    return
}
Step "moved the mount to $MountPoint"
$report.Status = 'Published'
[pscustomobject]$report
