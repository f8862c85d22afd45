<#
.SYNOPSIS
    Publishes the staged module (out/DaxFs) to a local PSResourceGet repository (a folder of .nupkg files), checks
    that it installs from there and imports, and prints the package path. Operators install it with
    Register-PSResourceRepository -Name DaxFsLocal -Uri <folder> -Trusted; Install-PSResource DaxFs -Repository DaxFsLocal.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $RepositoryPath
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module Microsoft.PowerShell.PSResourceGet

$manifest = Test-ModuleManifest (Join-Path $ModulePath 'DaxFs.psd1')
$repoName = "DaxFsBuild$PID"
New-Item -ItemType Directory -Force $RepositoryPath | Out-Null
Get-ChildItem $RepositoryPath -Filter "DaxFs.$($manifest.Version).nupkg" | Remove-Item -Force
Register-PSResourceRepository -Name $repoName -Uri $RepositoryPath -Trusted
$scratch = Join-Path ([IO.Path]::GetTempPath()) "daxfs-package-$PID"
try {
    Publish-PSResource -Path $ModulePath -Repository $repoName
    $found = Find-PSResource -Name DaxFs -Repository $repoName
    if ($found.Version -ne $manifest.Version) { throw "The repository offers DaxFs $($found.Version), not $($manifest.Version)." }
    # Install into a scratch folder and import from there: the package is complete and loads.
    New-Item -ItemType Directory -Force $scratch | Out-Null
    Save-PSResource -Name DaxFs -Repository $repoName -Path $scratch -TrustRepository
    $saved = Join-Path $scratch "DaxFs/$($manifest.Version)/DaxFs.psd1"
    # The pwsh that runs this script (dotnet pwsh from the tool manifest, or an installed pwsh), whatever the current folder.
    $pwsh = @([Environment]::ProcessPath)
    if ([IO.Path]::GetFileNameWithoutExtension($pwsh[0]) -eq 'dotnet') { $pwsh += (Join-Path $PSHOME 'pwsh.dll') }
    $check = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command "Import-Module '$saved'; (Get-Command -Module DaxFs).Count; (Get-Help New-DaxFsImage).Synopsis; `$t = Join-Path ([IO.Path]::GetTempPath()) 'daxfs-pkg-$PID'; New-Item -ItemType Directory `$t/root -Force | Out-Null; (New-DaxFsImage `$t/root `$t/root.daxfs -Force).Mode; Remove-Item -Recurse -Force `$t; (Get-DaxFsItem (Join-Path (Get-Module DaxFs).ModuleBase 'samples/basic.static.daxfs') -Recurse).Count"
    if ($LASTEXITCODE -ne 0 -or [int]$check[0] -ne $manifest.ExportedCmdlets.Count -or $check[2] -ne 'Static') { throw "The packaged module does not import and run with all its cmdlets: $check" }
    $pkg = Get-ChildItem $RepositoryPath -Filter "DaxFs.$($manifest.Version).nupkg"
    Write-Host "Packaged DaxFs $($manifest.Version): $($pkg.FullName) ($($check[0]) cmdlets; help: '$($check[1])'; New-DaxFsImage ran from the package)"
    [pscustomobject]@{ Package = $pkg.FullName; Version = $manifest.Version; Cmdlets = [int]$check[0]; Synopsis = $check[1]; Ran = $check[2]; SampleEntries = [int]$check[3] }
}
finally {
    Unregister-PSResourceRepository -Name $repoName -ErrorAction SilentlyContinue
    if (Test-Path $scratch) { Remove-Item -Recurse -Force $scratch }
}
