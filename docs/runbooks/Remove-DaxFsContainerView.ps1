<#
.SYNOPSIS
    Removes container views made by Add-DaxFsContainerView.ps1, and optionally the shared image mount.

.DESCRIPTION
    For each view: unmounts its overlay root, then its tmpfs (discarding what the container wrote), then deletes its
    folder. A view whose root is busy is left whole (nothing of it is unmounted, so no container loses its upper
    layer under it) and reported as an error. Without -Name, every view under -ViewRoot is removed.

    With -DismountImage, the shared daxfs mount at -MountPoint is unmounted too, once no overlay uses it any more.

    Needs root and umount(8).

.PARAMETER Name
    The views to remove. Default: every view under -ViewRoot.

.PARAMETER ViewRoot
    The folder that holds the views. Default: /run/daxfs-views.

.PARAMETER MountPoint
    The shared daxfs mount; needed with -DismountImage.

.PARAMETER DismountImage
    Unmount the shared image at -MountPoint when no view uses it any longer.

.EXAMPLE
    ./Remove-DaxFsContainerView.ps1 -Name web2 -Confirm:$false

.EXAMPLE
    ./Remove-DaxFsContainerView.ps1 -MountPoint /mnt/rootfs -DismountImage -Confirm:$false

    Removes every view and then the image mount.

.OUTPUTS
    DaxFs.Runbook.ContainerView with State Removed, for each view removed.

.LINK
    Add-DaxFsContainerView.ps1
#>
#Requires -Version 7.4
#Requires -Modules DaxFs
[CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
[OutputType('DaxFs.Runbook.ContainerView')]
param(
    [Parameter(ValueFromPipeline, ValueFromPipelineByPropertyName)]
    [ValidatePattern('^[A-Za-z0-9._-]+$')]
    [string[]] $Name,

    [string] $ViewRoot = '/run/daxfs-views',

    [string] $MountPoint,

    [switch] $DismountImage
)

begin {
    Set-StrictMode -Version Latest

    function Get-MountTable {
        # Parsed by the module's engine; DAXFS_MOUNTINFO (the module's fake-host variable) stands for it in tests.
        [DaxFs.Core.Linux.MountInfo]::Read($(if ($env:DAXFS_MOUNTINFO) { $env:DAXFS_MOUNTINFO } else { '/proc/self/mountinfo' }))
    }

    if ($DismountImage -and -not $MountPoint) { throw '-DismountImage needs -MountPoint: the shared daxfs mount to unmount.' }
    $ViewRoot = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($ViewRoot).TrimEnd('/')
    if ($MountPoint) { $MountPoint = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($MountPoint).TrimEnd('/') }
    $names = [Collections.Generic.List[string]]::new()
}

process { foreach ($n in $Name) { $names.Add($n) } }

end {
    if ($names.Count -eq 0 -and (Test-Path -LiteralPath $ViewRoot)) {
        foreach ($d in Get-ChildItem -LiteralPath $ViewRoot -Directory) { $names.Add($d.Name) }
    }
    $failed = $false
    $declined = $false   # a view kept by -WhatIf or a "no" to -Confirm
    foreach ($n in $names) {
        $dir = Join-Path $ViewRoot $n
        $view = [ordered]@{
            PSTypeName = 'DaxFs.Runbook.ContainerView'; Name = $n; Root = "$dir/root"; Lower = $null
            Upper = "$dir/rw/upper"; Work = "$dir/rw/work"; Tmpfs = "$dir/rw"; Source = $null; State = ''
        }
        $table = @(Get-MountTable)
        $overlay = $table | Where-Object { $_.MountPoint -eq $view.Root -and $_.FileSystemType -eq 'overlay' }
        $tmpfs = $table | Where-Object { $_.MountPoint -eq $view.Tmpfs -and $_.FileSystemType -eq 'tmpfs' }
        if (-not $overlay -and -not $tmpfs -and -not (Test-Path -LiteralPath $dir)) { Write-Error "There is no view $n under $ViewRoot."; $failed = $true; continue }
        if ($overlay -and $overlay.SuperOptions -match 'lowerdir=([^,]+)') { $view.Lower = $Matches[1] }
        if (-not $PSCmdlet.ShouldProcess($view.Root, "Unmount the overlay, unmount and discard the tmpfs $($view.Tmpfs), delete $dir")) { $declined = $true; continue }
        if ($overlay) {
            umount $view.Root
            if ($LASTEXITCODE -ne 0) { Write-Error "The view $n is busy (umount $($view.Root) exit $LASTEXITCODE): it is left whole. Stop its container first."; $failed = $true; continue }
        }
        if ($tmpfs) {
            umount $view.Tmpfs
            if ($LASTEXITCODE -ne 0) { Write-Error "The tmpfs of $n could not be unmounted (exit $LASTEXITCODE); its overlay is already gone."; $failed = $true; continue }
        }
        Remove-Item -LiteralPath $dir -Recurse -Force -Confirm:$false
        $view.State = 'Removed'
        [pscustomobject]$view
    }

    if ($DismountImage -and $declined) {
        $PSCmdlet.ShouldProcess($MountPoint, 'Unmount the shared image once no view uses it') | Out-Null
    }
    elseif ($DismountImage -and -not $failed) {
        $users = @(Get-MountTable | Where-Object { $_.FileSystemType -eq 'overlay' -and $_.SuperOptions -match "lowerdir=([^,]*:)?$([regex]::Escape($MountPoint))(,|:|$)" })
        if ($users) { Write-Error "$MountPoint is still the lower layer of $($users.Count) overlay(s) ($($users.MountPoint -join ', ')); it stays mounted." }
        elseif (@(Get-DaxFsMount) | Where-Object MountPoint -eq $MountPoint) {
            if ($PSCmdlet.ShouldProcess($MountPoint, 'Unmount the shared image')) { Dismount-DaxFs -MountPoint $MountPoint -Confirm:$false -ErrorAction Stop }
        }
    }
}
