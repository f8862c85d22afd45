<#
.SYNOPSIS
    Shares one DAXFS image among containers: one read-only (or format-8 overlay) mount, and an OverlayFS view per container root.

.DESCRIPTION
    Mounts the image once, read-only (or uses the daxfs mount already at -MountPoint), and gives each named container
    a root of its own: an OverlayFS mount whose lower layer is the shared image and whose upper and work directories
    live on a tmpfs of that view. Every container reads the same DAX memory (no page cache copies); what a container
    writes stays in its tmpfs and disappears with the view.

    Each view is VIEWROOT/NAME, with the tmpfs at VIEWROOT/NAME/rw (upper and work inside it) and the container root
    at VIEWROOT/NAME/root. A view that is already mounted on this image is reported as it is (State Existing); a view
    that fails half-way is taken down again, so nothing is left mounted for it. Remove views with
    Remove-DaxFsContainerView.ps1.

    Needs root, the daxfs and overlay kernel modules, and mount(8).

    The daxfs modules cannot execute programs from a read-only mount, so neither from a view of it: they refuse the
    private writable mapping every ELF program makes of its data segment (EACCES), and execve ends in SIGSEGV. A
    format-8 image with an overlay (New-DaxFsImage -Format 8 -BackingFile, mounted read-write through its overlay)
    runs its programs, through the views as well (measured with the format-8 module): such a mount is taken as the
    lower layer too, with a warning to write nothing to it directly while views use it (see about_DaxFs, Container
    images).

.PARAMETER Name
    The container names; one view each. Letters, digits, dot, dash and underscore.

.PARAMETER MountPoint
    The daxfs mount shared by every view: read-only, or a format-8 image's overlay mount.

.PARAMETER Device
    The dax device that holds the image, mounted at -MountPoint when nothing is mounted there yet.

.PARAMETER ViewRoot
    The folder that holds the views. Default: /run/daxfs-views.

.PARAMETER TmpfsSize
    Size limit of each view's tmpfs (mount -o size=). Default: 256m.

.EXAMPLE
    ./Add-DaxFsContainerView.ps1 -Name web1, web2, worker -Device dax0.0 -MountPoint /mnt/rootfs -Confirm:$false

    Mounts dax0.0 at /mnt/rootfs if needed and makes three container roots, /run/daxfs-views/web1/root and so on.

.EXAMPLE
    1..8 | ForEach-Object { "c$_" } | ./Add-DaxFsContainerView.ps1 -MountPoint /mnt/rootfs -TmpfsSize 64m -WhatIf

    Shows the mounts eight views would make.

.OUTPUTS
    DaxFs.Runbook.ContainerView: Name, Root, Lower, Upper, Work, Tmpfs, Source, State (Created, Existing).

.LINK
    Remove-DaxFsContainerView.ps1
#>
#Requires -Version 7.4
#Requires -Modules DaxFs
[CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
[OutputType('DaxFs.Runbook.ContainerView')]
param(
    [Parameter(Mandatory, ValueFromPipeline)]
    [ValidatePattern('^[A-Za-z0-9._-]+$')]
    [string[]] $Name,

    [Parameter(Mandatory)]
    [string] $MountPoint,

    [string] $Device,

    [string] $ViewRoot = '/run/daxfs-views',

    [ValidatePattern('^[0-9]+[kmgKMG%]?$')]
    [string] $TmpfsSize = '256m'
)

begin {
    Set-StrictMode -Version Latest

    function Get-MountTable {
        # Parsed by the module's engine; DAXFS_MOUNTINFO (the module's fake-host variable) stands for it in tests.
        [DaxFs.Core.Linux.MountInfo]::Read($(if ($env:DAXFS_MOUNTINFO) { $env:DAXFS_MOUNTINFO } else { '/proc/self/mountinfo' }))
    }

    function Invoke-Mount([string[]] $Arguments) {
        mount @Arguments
        if ($LASTEXITCODE -ne 0) { throw "mount $($Arguments -join ' ') failed (exit $LASTEXITCODE)" }
    }

    $MountPoint = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($MountPoint).TrimEnd('/')
    $ViewRoot = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($ViewRoot).TrimEnd('/')
    foreach ($p in $MountPoint, $ViewRoot) { if ($p -match '[,:\s]') { throw "'$p' contains a comma, colon or white space, which overlay mount options cannot carry." } }

    # The shared lower layer: read-only, or a format-8 image's overlay mount (read-write, the only kind of daxfs mount
    # whose programs run: the module refuses private writable mappings on a read-only mount). OverlayFS wants nothing to
    # write to its lower layer while it is in use: the warning says so.
    function Test-Lower($Mount) {
        if ($Mount.ReadOnly) { return $true }
        if ($Mount.Format -eq 8 -and $Mount.Overlay) {
            Write-Warning "$($Mount.MountPoint) is a format-8 overlay mount (read-write): write nothing to it directly while views use it (OverlayFS's rule for its lower layer); each container's writes go to its view."
            return $true
        }
        $false
    }
    $lower = @(Get-DaxFsMount) | Where-Object MountPoint -eq $MountPoint
    $lowerReady = $true
    if ($lower) {
        if (-not (Test-Lower $lower)) { throw "$MountPoint is mounted read-write; views need a read-only lower layer (a static image) or a format-8 image with an overlay." }
    }
    elseif (-not $Device) {
        throw "Nothing is mounted at ${MountPoint}: give -Device to mount the image there, or publish it first (Publish-DaxFsRootfs.ps1)."
    }
    elseif ($PSCmdlet.ShouldProcess($MountPoint, "Mount $Device read-only as the shared lower layer")) {
        New-Item -ItemType Directory -Force -Path $MountPoint -Confirm:$false | Out-Null
        $lower = Mount-DaxFs -Device $Device -MountPoint $MountPoint -Confirm:$false -ErrorAction Stop
        if (-not (Test-Lower $lower)) {
            Dismount-DaxFs -MountPoint $MountPoint -Confirm:$false
            throw "$Device holds a branching image, which mounts read-write; views need a static image or a format-8 image with an overlay."
        }
    }
    else { $lowerReady = $false }
    $source = if ($lower) { $lower.Source } else { $Device }
}

process {
    foreach ($n in $Name) {
        $dir = Join-Path $ViewRoot $n
        $view = [ordered]@{
            PSTypeName = 'DaxFs.Runbook.ContainerView'; Name = $n; Root = "$dir/root"; Lower = $MountPoint
            Upper = "$dir/rw/upper"; Work = "$dir/rw/work"; Tmpfs = "$dir/rw"; Source = $source; State = ''
        }
        $table = @(Get-MountTable)
        $existing = $table | Where-Object MountPoint -eq $view.Root
        if ($existing) {
            if ($existing.FileSystemType -eq 'overlay' -and $existing.SuperOptions -match "lowerdir=$([regex]::Escape($MountPoint))(,|:|$)") {
                $view.State = 'Existing'
                [pscustomobject]$view
            }
            else { Write-Error "$($view.Root) is already a $($existing.FileSystemType) mount that is not a view of $MountPoint; remove it first." }
            continue
        }
        $options = "lowerdir=$MountPoint,upperdir=$($view.Upper),workdir=$($view.Work)"
        if (-not $PSCmdlet.ShouldProcess($view.Root, "Mount a $TmpfsSize tmpfs at $($view.Tmpfs) and an overlay ($options)")) { continue }
        if (-not $lowerReady) { continue }
        $tmpfsMounted = $false
        try {
            New-Item -ItemType Directory -Force -Path $view.Tmpfs, $view.Root -Confirm:$false | Out-Null
            Invoke-Mount @('-t', 'tmpfs', '-o', "size=$TmpfsSize,mode=0755", "tmpfs-$n", $view.Tmpfs)
            $tmpfsMounted = $true
            New-Item -ItemType Directory -Force -Path $view.Upper, $view.Work -Confirm:$false | Out-Null
            Invoke-Mount @('-t', 'overlay', '-o', $options, "overlay-$n", $view.Root)
            $view.State = 'Created'
            [pscustomobject]$view
        }
        catch {
            if ($tmpfsMounted) { umount $view.Tmpfs }
            Remove-Item -LiteralPath $dir -Recurse -Force -ErrorAction SilentlyContinue -Confirm:$false
            Write-Error "The view $n was not made and nothing of it is left mounted: $_"
        }
    }
}
