# The device host of the device, memory and mount suites (Devices, Namespaces, MemoryTargets and Mounts.Tests.ps1):
# dot-sourced in their BeforeAll (it dot-sources Common.ps1 and saves the DAXFS_* variables for AfterAll). A fake host
# (FakeHost.ps1) with two dax devices, region0 and namespace0.0 in sysfs, ndctl/daxctl answering with recorded output
# (Set-Answer), a mountinfo file, memfd "dma-bufs".
# The few real system calls made by those suites (fsopen, mount(2)) fail before touching memory and are skipped where
# the machine would answer differently ($NoRealKernelCall).
. (Join-Path $PSScriptRoot 'Common.ps1')
$script:SavedEnv = Save-FakeHostEnvironment

$script:Fixtures = Join-Path $PSScriptRoot 'fixtures/linux'
$script:Basic = Join-Path $Vectors 'basic.static.daxfs'
# A sound image with no hard links ('basic' keeps mkdaxfs's empty inode slot for its hard link: INODE-EMPTY).
$script:Sound = Join-Path $Vectors 'deep.static.daxfs'
$script:MiB = 1024 * 1024
# Real system calls are made only where they fail before touching memory: as root, on a kernel without daxfs.
$script:NoRealKernelCall = if ((id -u) -ne '0') { 'needs root: as a user the kernel answers EPERM before the call this test is about' }
    elseif ((Get-Content /proc/filesystems) -match '\bdaxfs$') { 'the daxfs module is loaded here, so a mount of the fake device would reach a made-up physical address' }

# A fresh fake host with dax0.0 (as recorded in the VM: 502 MiB at 0x100a00000), dax1.0 (two ranges), region0 and
# namespace0.0 in sysfs, ndctl/daxctl answering with the recorded devdax listings, an empty mountinfo.
function New-FakeHost {
    $root = New-FakeHostRoot
    Add-FakeDaxDevice $root 'dax0.0' 526385152 0x100a00000 -Mappings @(, @(0x100a00000, 0x11fffffff))
    Add-FakeDaxDevice $root 'dax1.0' (4 * $MiB) 0x140000000 -Mappings @(@(0x140000000, 0x1401fffff), @(0x280000000, 0x2801fffff))
    New-Item -ItemType Directory -Force (Join-Path $root 'sys/bus/nd/devices/region0'), (Join-Path $root 'sys/bus/nd/devices/namespace0.0'), (Join-Path $root 'mnt') | Out-Null
    $tools = Add-FakeTool $root
    $h = [pscustomobject]@{
        Root = $root; Tools = $tools; MountPoint = Join-Path $root 'mnt'; MountInfo = Join-Path $root 'mountinfo'
        Node = Join-Path $root 'dev/dax0.0'
    }
    Set-Content $h.MountInfo '' -NoNewline
    Set-Answer daxctl list -Fixture 'daxctl-list-devices-mappings.devdax.json'
    Set-Answer ndctl list -Fixture 'ndctl-list-N.devdax.json'
    Set-FakeHostEnvironment -SysfsRoot $root -DevRoot (Join-Path $root 'dev') -MountInfo $h.MountInfo -Tools $tools -AssumeRoot 1 -DmaHeap memfd
    $h
}

# What the fake TOOL answers to SUB: a recorded fixture or text on stdout, stderr, an exit code; -Once for the next
# call only, -ThenList: the list output after that call.
function Set-Answer {
    param([string] $Tool, [string] $Sub, [string] $Fixture, [string] $Text, [string] $StderrFixture, [int] $Exit = 0, [switch] $Once, [string] $ThenList)
    $base = Join-Path $h.Tools ("$Tool.$Sub" + $(if ($Once) { '.once' } else { '' }))
    if ($Fixture) { Copy-Item (Join-Path $Fixtures $Fixture) "$base.stdout" } elseif ($PSBoundParameters.ContainsKey('Text')) { Set-Content "$base.stdout" $Text -NoNewline } else { Remove-Item "$base.stdout" -ErrorAction Ignore }
    if ($StderrFixture) { Copy-Item (Join-Path $Fixtures $StderrFixture) "$base.stderr" } else { Remove-Item "$base.stderr" -ErrorAction Ignore }
    Set-Content "$base.exit" $Exit
    if ($ThenList) { Copy-Item (Join-Path $Fixtures $ThenList) "$base.then-list" }
}

function Get-ToolLog([string] $Tool) {
    $p = Join-Path $h.Tools "$Tool.log"
    if (Test-Path $p) { @(Get-Content $p) } else { @() }
}

function Read-Bytes([string] $Path, [long] $Offset, [int] $Count) {
    $f = [IO.File]::OpenRead($Path)
    try { $f.Position = $Offset; $b = [byte[]]::new($Count); $f.ReadExactly($b); , $b } finally { $f.Dispose() }
}

function Get-Sha256([byte[]] $Bytes) { [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData($Bytes)).ToLowerInvariant() }
