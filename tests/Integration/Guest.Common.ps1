# Dot-sourced by the integration test files. They write to /dev/pmem0 and reconfigure NVDIMM namespaces, so they run
# only inside the VM that run-vm.sh boots (it sets DAXFS_VM=1), started by Invoke-Integration.ps1.
Set-StrictMode -Version Latest
if ($env:DAXFS_VM -ne '1') {
    throw 'The integration tests overwrite NVDIMM memory and namespaces: they run only inside the VM of ../shared/vm/run-vm.sh (DAXFS_VM=1). Use ./build.ps1 Integration.'
}
$ProgressPreference = 'SilentlyContinue'
$script:Data = $env:DAXFS_INTEGRATION_DATA
$script:Manifest = Get-Content -Raw (Join-Path $script:Data 'manifest.json') | ConvertFrom-Json
$script:Phys = [uint64]$env:DAXFS_VM_PHYS
$script:NvdimmSize = [uint64]$env:DAXFS_VM_MEMORY_SIZE
if (-not ('DaxFs.TreeTools.TreeListing' -as [type])) { Add-Type -Path (Join-Path $script:Data 'bin/DaxFs.TreeTools.dll') }
Import-Module $env:DAXFS_MODULE_PATH -Force

function Get-TestImage([string] $Name) {
    $i = $script:Manifest.Images | Where-Object Name -eq $Name
    if (-not $i) { throw "No image '$Name' in the manifest." }
    $i
}

function Get-TestTree([string] $Name) { $script:Manifest.Trees | Where-Object Name -eq $Name }

# Runs a program; throws with its output when it fails. Returns its output lines.
function Invoke-Tool([string] $File, [string[]] $Arguments) {
    $out = & $File @Arguments 2>&1 | ForEach-Object { "$_" }
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code ${LASTEXITCODE}: $($out -join ' | ')" }
    $out
}

# Differences between a tree listed now (a mount point) and the listing made on the host from the source tree.
function Compare-WithSource([string] $MountPoint, [string] $ListingFile) {
    $expected = [DaxFs.TreeTools.TreeListing]::Load($ListingFile)
    $actual = [DaxFs.TreeTools.TreeListing]::List($MountPoint)
    @([DaxFs.TreeTools.TreeListing]::Compare($expected, $actual))
}

# Unmounts whatever is mounted at the path (clean-up after a failed test; never fails).
function Clear-Mount([string] $MountPoint) {
    for ($i = 0; $i -lt 4 -and (Get-Content /proc/self/mountinfo | Where-Object { ($_ -split ' ')[4] -eq $MountPoint }); $i++) {
        [DaxFs.TreeTools.Kernel]::Unmount($MountPoint) | Out-Null
    }
}

function New-MountPoint([string] $Name) {
    $p = "/tmp/daxfs-it/$Name"
    New-Item -ItemType Directory -Force -Path $p | Out-Null
    $p
}
