<#
.SYNOPSIS
    The built-in example: inspect, list, read and validate a sample image (the reference `basic` image of
    ../shared/vectors, which holds every kind of entry the format has). Needs no root and no DAX hardware.
#>
param([Parameter(Mandatory)] [string] $ModulePath, [string] $Image)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath -Force
if (-not $Image) {
    $shared = if ($env:DAXFS_SHARED) { $env:DAXFS_SHARED } else { Join-Path $PSScriptRoot '../../shared' }
    $Image = Join-Path $shared 'vectors/basic.static.daxfs'
}

Write-Host "`n== Get-DaxFsImage $Image" -ForegroundColor Cyan
Get-DaxFsImage $Image | Format-List | Out-Host

Write-Host '== Get-DaxFsItem -Recurse' -ForegroundColor Cyan
Get-DaxFsItem $Image -Recurse | Out-Host

Write-Host '== Get-DaxFsItem -Recurse | Where-Object Size -gt 1KB' -ForegroundColor Cyan
Get-DaxFsItem $Image -Recurse | Where-Object Size -gt 1KB | Select-Object FullName, Size, LinkCount, Inode | Out-Host

Write-Host '== Get-DaxFsContent /rel-link (a symlink to a/b/c/hello.txt)' -ForegroundColor Cyan
Get-DaxFsContent $Image -Path /rel-link | Out-Host

Write-Host '== Test-DaxFsImage -Detailed' -ForegroundColor Cyan
Test-DaxFsImage $Image -Detailed | Out-Host
Write-Host "Safe to mount: $(Test-DaxFsImage $Image)"
