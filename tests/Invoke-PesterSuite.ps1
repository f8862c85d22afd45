<#
.SYNOPSIS
    Runs the Pester suite in this (fresh) process against the staged module and writes the counts as JSON.
#>
param(
    [Parameter(Mandatory)] [string] $PesterPath,
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $ResultFile,
    [string] $TestPath = (Join-Path $PSScriptRoot '.'),
    [string[]] $ExcludeTag = @()
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module $PesterPath -Force
$env:DAXFS_MODULE_PATH = $ModulePath
$config = New-PesterConfiguration
$config.Run.Path = @($TestPath -split ',' | ForEach-Object {
    if (Test-Path $_ -PathType Container) { Get-ChildItem $_ -Filter '*.Tests.ps1' | Where-Object { $_.Directory.Name -ne 'Integration' } | ForEach-Object FullName } else { $_ }
})
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Normal'
$config.Filter.ExcludeTag = $ExcludeTag
$result = Invoke-Pester -Configuration $config
[pscustomobject]@{ Passed = $result.PassedCount; Failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount; Skipped = $result.SkippedCount } |
    ConvertTo-Json | Set-Content -LiteralPath $ResultFile
exit 0
