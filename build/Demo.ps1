<#
.SYNOPSIS
    The built-in example: build an image of a small sample tree with New-DaxFsImage, then inspect, list, read
    and validate it. Needs no root and no DAX hardware; everything is written under -WorkPath (out/demo).
#>
param([Parameter(Mandatory)] [string] $ModulePath, [string] $WorkPath = (Join-Path $PSScriptRoot '../out/demo'))
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath -Force

# A small root filesystem: every kind of entry the format holds.
$root = Join-Path $WorkPath 'rootfs'
if (Test-Path $WorkPath) { Remove-Item -Recurse -Force $WorkPath }
New-Item -ItemType Directory "$root/etc", "$root/usr/bin", "$root/usr/share/doc/daxfs", "$root/var/empty", "$root/tmp" -Force | Out-Null
Set-Content -NoNewline -LiteralPath "$root/etc/hostname" -Value "daxfs-demo`n"
Set-Content -NoNewline -LiteralPath "$root/etc/os-release" -Value "NAME=`"DaxFs demo`"`nID=daxfs`n"
Set-Content -NoNewline -LiteralPath "$root/usr/bin/hello" -Value "#!/bin/sh`necho hello from DAX memory`n"
chmod 04755 "$root/usr/bin/hello"
chmod 01777 "$root/tmp"
New-Item -ItemType SymbolicLink "$root/bin" -Target 'usr/bin' | Out-Null
New-Item -ItemType HardLink "$root/usr/bin/hi" -Target "$root/usr/bin/hello" | Out-Null
$rng = [Random]::new(42); $blob = [byte[]]::new(3MB); $rng.NextBytes($blob)
[IO.File]::WriteAllBytes("$root/usr/share/doc/daxfs/data.bin", $blob)
Set-Content -LiteralPath "$root/usr/share/doc/daxfs/README" -Value 'Files in a DAXFS image are read with plain memory loads.'
$image = Join-Path $WorkPath 'rootfs.daxfs'

Write-Host "`n== New-DaxFsImage -Path $root -Destination $image" -ForegroundColor Cyan
New-DaxFsImage -Path $root -Destination $image -Owner Root | Format-List | Out-Host

Write-Host '== Get-DaxFsItem -Recurse' -ForegroundColor Cyan
Get-DaxFsItem $image -Recurse | Out-Host

Write-Host '== Get-DaxFsItem -Recurse | Where-Object Size -gt 1MB' -ForegroundColor Cyan
Get-DaxFsItem $image -Recurse | Where-Object Size -gt 1MB | Select-Object FullName, Size, Inode | Out-Host

Write-Host '== Get-DaxFsContent /usr/bin/hello' -ForegroundColor Cyan
Get-DaxFsContent $image -Path /usr/bin/hello | Out-Host

Write-Host '== Test-DaxFsImage -Detailed' -ForegroundColor Cyan
Test-DaxFsImage $image -Detailed | Out-Host
Write-Host "Safe to mount: $(Test-DaxFsImage $image)"

$branching = Join-Path $WorkPath 'rootfs-branching.daxfs'
Write-Host "`n== New-DaxFsImage -Branching -DeltaSize 16MB (copy-on-write branches at mount)" -ForegroundColor Cyan
New-DaxFsImage -Path $root -Destination $branching -Branching -DeltaSize 16MB -Owner Root | Out-Host
Write-Host "To mount on a host with DAX memory: New-DaxFsImage ... | Write-DaxFsImage -Device dax0.0 -PassThru | Mount-DaxFs -MountPoint /mnt/rootfs"
