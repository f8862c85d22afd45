# The fake host of the Pester suites, in one place: dot-sourced by Common.ps1. The module reads the host through the
# DAXFS_* environment variables (LinuxEnvironmentVariables in the engine): a sysfs tree and /dev in TestDrive, a
# mountinfo file, ndctl/daxctl played by tests/fixtures/linux/fake-tool.sh answering with recorded output, memfd
# "dma-bufs", and whether to act as root. No root and no hardware needed. Each test file builds the host it needs
# from these pieces and restores the variables afterwards (Save-/Restore-FakeHostEnvironment).

$script:FakeHostVariables = 'DAXFS_SYSFS_ROOT', 'DAXFS_DEV_ROOT', 'DAXFS_MOUNTINFO', 'DAXFS_NDCTL', 'DAXFS_DAXCTL', 'DAXFS_ASSUME_ROOT', 'DAXFS_DMA_HEAP'
$script:FakeHostFixtures = Join-Path $PSScriptRoot 'fixtures/linux'

# The DAXFS_* variables as they are now, for Restore-FakeHostEnvironment in AfterAll.
function Save-FakeHostEnvironment {
    $saved = @{}
    foreach ($n in $FakeHostVariables) { $saved[$n] = [Environment]::GetEnvironmentVariable($n) }
    $saved
}

function Restore-FakeHostEnvironment([hashtable] $Saved) {
    foreach ($n in $Saved.Keys) { [Environment]::SetEnvironmentVariable($n, $Saved[$n]) }
}

# A fresh, empty host folder in TestDrive (PREFIX-xxxxxxxx).
function New-FakeHostRoot([string] $Prefix = 'host') {
    $root = Join-Path $TestDrive ($Prefix + '-' + [guid]::NewGuid().ToString('n').Substring(0, 8))
    New-Item -ItemType Directory -Force $root | Out-Null
    $root
}

# Points the module at the host under ROOT: the variables given are set, the others keep their value. -Tools: a folder
# with the fake ndctl and daxctl (Add-FakeTool).
function Set-FakeHostEnvironment {
    param([string] $SysfsRoot, [string] $DevRoot, [string] $MountInfo, [string] $Tools, [ValidateSet('0', '1')] [string] $AssumeRoot,
        [string] $DmaHeap)
    if ($SysfsRoot) { $env:DAXFS_SYSFS_ROOT = $SysfsRoot }
    if ($DevRoot) { $env:DAXFS_DEV_ROOT = $DevRoot }
    if ($MountInfo) { $env:DAXFS_MOUNTINFO = $MountInfo }
    if ($Tools) { $env:DAXFS_NDCTL = Join-Path $Tools 'ndctl'; $env:DAXFS_DAXCTL = Join-Path $Tools 'daxctl' }
    if ($AssumeRoot) { $env:DAXFS_ASSUME_ROOT = $AssumeRoot }
    if ($DmaHeap) { $env:DAXFS_DMA_HEAP = $DmaHeap }
}

# A file of LENGTH bytes that takes no room (a device node or memory stand-in).
function New-SparseFile([string] $Path, [long] $Length) {
    New-Item -ItemType Directory -Force (Split-Path $Path) | Out-Null
    $f = [IO.File]::Create($Path); try { $f.SetLength($Length) } finally { $f.Dispose() }
}

# A dax device NAME in the host's sysfs (size, align, resource, mapping ranges, bound to DRIVER) and, unless -NoNode,
# its node in dev/ as a sparse file of SIZE bytes.
function Add-FakeDaxDevice {
    param([string] $Root, [string] $Name, [long] $Size, [long] $Resource, [string] $Driver = 'device_dax', [long[][]] $Mappings = @(), [switch] $NoNode)
    $dir = Join-Path $Root "sys/bus/dax/devices/$Name"
    New-Item -ItemType Directory -Force $dir | Out-Null
    Set-Content (Join-Path $dir size) $Size
    Set-Content (Join-Path $dir align) 2097152
    Set-Content (Join-Path $dir target_node) 0
    Set-Content (Join-Path $dir numa_node) 0
    Set-Content (Join-Path $dir resource) ('0x{0:x}' -f $Resource)
    for ($i = 0; $i -lt $Mappings.Count; $i++) {
        $m = New-Item -ItemType Directory -Force (Join-Path $dir "mapping$i")
        Set-Content (Join-Path $m start) ('0x{0:x}' -f $Mappings[$i][0])
        Set-Content (Join-Path $m end) ('0x{0:x}' -f $Mappings[$i][1])
        Set-Content (Join-Path $m page_offset) '0x0'
    }
    $drv = New-Item -ItemType Directory -Force (Join-Path $Root "sys/bus/dax/drivers/$Driver")
    New-Item -ItemType SymbolicLink -Path (Join-Path $dir driver) -Target $drv.FullName | Out-Null
    if (-not $NoNode) { New-SparseFile (Join-Path $Root "dev/$Name") $Size }
}

# The fake ndctl and daxctl in ROOT/tools (what each answers: TOOL.SUB.stdout/.stderr/.exit there, see fake-tool.sh);
# returns the folder.
function Add-FakeTool([string] $Root) {
    $tools = New-Item -ItemType Directory -Force (Join-Path $Root 'tools')
    foreach ($t in 'ndctl', 'daxctl') {
        Copy-Item (Join-Path $FakeHostFixtures 'fake-tool.sh') (Join-Path $tools $t)
        chmod +x (Join-Path $tools $t)
    }
    $tools.FullName
}

# Makes the fake TOOL answer SUB with a recorded fixture of tests/fixtures/linux on stdout.
function Set-FakeToolAnswer([string] $Tools, [string] $Tool, [string] $Sub, [string] $Fixture) {
    Copy-Item (Join-Path $FakeHostFixtures $Fixture) (Join-Path $Tools "$Tool.$Sub.stdout")
}
