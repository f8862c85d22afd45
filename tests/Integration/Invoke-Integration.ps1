<#
.SYNOPSIS
    The integration suite: DaxFs against the real daxfs kernel module, in a VM (../shared/vm/run-vm.sh).
.DESCRIPTION
    On the host: builds the tree tools, makes the source trees (the vectors' make-trees.sh and generated trees from
    fixed seeds), lists them, and builds every tree with New-DaxFsImage in static, branching and split mode. Then boots
    the kit's VM once per boot kind, one pwsh per guest (20-45 s to start under emulation with one vCPU), the single-guest
    boots two at a time (-Parallel), each guest with one emulated CPU (-GuestCpus), and the three-guest hosts boot alone
    after them:
      raw     the NVDIMM as one raw namespace: Writer.Tests.ps1 (every image mounted by the kernel and listed against
              its source tree), Branches.Tests.ps1 (branches created, changed, committed and aborted through the kernel,
              and replayed from the memory) and PhysicalMemory.Tests.ps1 (the cmdlets on a physical range, namespace
              reconfiguration, which ends the raw namespace: it runs last)
      devdax  the NVDIMM as dax0.0: Runbooks.Tests.ps1 (the operator runbooks of docs/runbooks: publish, OverlayFS
              views, inventory, update, rollbacks after a corrupted write; a container base image published from an OCI
              layout and shared by two views, a process per view in its own namespaces), WriteSafety.Tests.ps1 (writers of dax0.0
              killed with SIGKILL at random moments: the gate refuses what they leave as IMG-INCOMPLETE-WRITE; a second
              writer and a mount are refused naming the first) and Devices.Tests.ps1 (device, dma-buf and mount cmdlets)
      hosts   three guests on one --memory-file, as three hosts on a memory pool, and this machine reading that file
              offline (Invoke-HostsBoot.ps1: HostsWriter/HostsReader/HostsThird.Tests.ps1; a write another kernel tries
              to mount meanwhile, every file read back by physical range and by device with each reader's page cache
              measured, sibling branches of two kernels that a third lists, compares and refuses to overwrite, a commit;
              the fleet runbook and the inventory across all three over SSH remoting; then A and B on the format-8 module
              writing one overlay image at once, read back here offline against a fresh mount, HostsV8.Tests.ps1)
      v8      the format-8 module (kit's kernel/daxfs-v8.ko), the NVDIMM raw: V8.Tests.ps1 (the loaded module read from sysfs and
              the refusal of the other generation, switching modules within the boot; every v8 vector and every image DaxFs
              builds in format 8 mounted through Mount-DaxFs and listed against its source; writes through format-8 mounts
              read back offline exactly as a fresh mount shows them; a container base image built from an OCI layout running its
              own shell in two OverlayFS views of its overlay mount; the hostile format-8 set through Mount-DaxFs)
      hostile the NVDIMM as one raw namespace holding the hostile set (HostileImages in TreeTools: structural breaks
              and seeded mutants of a small and a large static, branching and split image, and of the large tree's
              branching image whose branches and logs the real kernel wrote, tests/fixtures/branches/large-kernel.daxfs.gz):
              Hostile.Tests.ps1 mounts each through Mount-DaxFs and its gate (and the kernel-made ones, once through
              it, at each live branch too). A boot of its own, so a kernel crash cannot take the other boots' tests with it;
              a guest that dies is reported as a failure with the console's last lines.
    Writes the summed counts to -ResultFile as JSON (Passed, Failed, Skipped, SkipReason, Boots). When the kit or its
    prerequisites are missing nothing runs: SkipReason says why, and it is printed.
.EXAMPLE
    dotnet pwsh ./build.ps1 Integration
.EXAMPLE
    dotnet pwsh tests/Integration/Invoke-Integration.ps1 -ResultFile out/i.json -PesterPath $pester -Boot devdax
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ResultFile,
    [Parameter(Mandatory)] [string] $PesterPath,
    # The staged module.
    [string] $ModulePath = (Join-Path $PSScriptRoot '../../out/DaxFs/DaxFs.psd1'),
    # An operator's own kernel image and daxfs.ko (run-vm.sh --kernel/--module); default: the kit's.
    [string] $Kernel,
    [string] $KernelModule,
    # The VM kit (run-vm.sh and kernel/); default $env:DAXFS_VM_KIT, $env:DAXFS_SHARED/vm, or ../shared/vm.
    [string] $Kit,
    # Which boots to run; the single-guest ones start in this order (the longest first), hosts after them.
    [ValidateSet('raw', 'devdax', 'hostile', 'hosts', 'v8')]
    [string[]] $Boot = @('v8', 'devdax', 'hostile', 'raw', 'hosts'),
    # The format-8 daxfs module for the v8 boot (run-vm.sh --module); default: the kit's kernel/daxfs-v8.ko. The format-5
    # module (-KernelModule, or the kit's kernel/daxfs.ko) is loaded in that boot too, to switch generations.
    [string] $KernelModule8,
    # Limit for one boot, in seconds (run-vm.sh --timeout). The devdax boot took 666 s on a 2-core machine running two
    # other VMs and 1397 s with three (the runbooks took 225 s and 920 s of that): a loaded machine needs the margin.
    [int] $BootTimeout = 2400,
    # CPUs of each guest (run-vm.sh --cpus). One by default: under emulation a second vCPU made pwsh start 2-4x slower
    # on a loaded 2-core machine (the guest kernel waits on a vCPU the host has descheduled), and the hosts boot runs
    # three guests at once.
    [ValidateRange(1, 64)] [int] $GuestCpus = 1,
    # How many single-guest boots run side by side (each VM's guest is one emulated CPU, about one core of this machine):
    # this machine's cores, at most 2. The hosts boot (three guests) runs alone, after them.
    [ValidateRange(1, 8)] [int] $Parallel = [math]::Max(1, [math]::Min(2, [Environment]::ProcessorCount))
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$PSStyle.OutputRendering = 'PlainText' # tables without colour codes in CI logs

$clock = [Diagnostics.Stopwatch]::StartNew()
$root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$shared = if ($env:DAXFS_SHARED) { $env:DAXFS_SHARED } else { Join-Path $root '../shared' }
if (-not $Kit) { $Kit = if ($env:DAXFS_VM_KIT) { $env:DAXFS_VM_KIT } else { Join-Path $shared 'vm' } }
# The kit's real path: the guests see this machine's files under their own paths, and a symbolic link on the way (a
# clone beside a linked ../shared) would leave a path the guest cannot follow (the v8 boot loads kernel modules by it).
if (Test-Path -LiteralPath $Kit -PathType Container) { $Kit = [IO.Path]::GetFullPath((& realpath -e -- $Kit)) }
# The vectors' source trees (make-trees.sh) and expected listings are part of the repository.
$vectors = Join-Path $root 'tests/vectors'
$data = Join-Path $root 'out/integration'
$results = Join-Path $data 'results'

function Write-Result([int] $Passed, [int] $Failed, [int] $Skipped, [string] $SkipReason, $Boots = @(), [double] $PrepareSeconds = 0) {
    [pscustomobject]@{
        Passed = $Passed; Failed = $Failed; Skipped = $Skipped; SkipReason = $SkipReason
        PrepareSeconds = [math]::Round($PrepareSeconds, 1); TotalSeconds = [math]::Round($clock.Elapsed.TotalSeconds, 1); Boots = @($Boots)
    } | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $ResultFile
}

# ---- can it run here? ----
function Get-SkipReason {
    if (-not $IsLinux) { return 'the VM kit runs on Linux only' }
    if ([Runtime.InteropServices.RuntimeInformation]::OSArchitecture -ne 'X64') { return 'the guest shares this machine''s x86-64 programs (dotnet, pwsh), so the host must be x86-64' }
    if (-not (Test-Path -LiteralPath (Join-Path $Kit 'run-vm.sh'))) {
        return ("no VM kit at $Kit. The real-kernel suite boots a VM with the kit's run-vm.sh (QEMU, an emulated NVDIMM, " +
            'a kernel with the daxfs module in its kernel/ folder). Point at a copy of the kit with DAXFS_VM_KIT=/path/to/vm ' +
            '(or DAXFS_SHARED=/path/holding/vm, or -Kit); to boot your own kernel image and daxfs.ko with that run-vm.sh, add ' +
            '-Kernel/-KernelModule (./build.ps1 Integration -Kernel /boot/vmlinuz-X -KernelModule ./daxfs.ko, or ' +
            'DAXFS_KERNEL/DAXFS_KERNEL_MODULE).')
    }
    if (-not (Test-Path -LiteralPath (Join-Path $vectors 'make-trees.sh'))) { return "no test vectors at $vectors (they are part of the repository: git checkout -- tests/vectors)" }
    $tools = Import-PowerShellDataFile (Join-Path $PSScriptRoot 'Prerequisites.psd1')
    $missing = @($tools.Keys | Sort-Object | Where-Object { -not (Get-Command $_ -CommandType Application -ErrorAction Ignore) } | ForEach-Object { $tools[$_] })
    if ($missing) { return "missing Debian packages: $($missing -join ' ') (as root: apt-get install -y $($missing -join ' '))" }
    if (-not (Test-Path -LiteralPath $ModulePath)) { return "the staged module $ModulePath is missing (run the Build task)" }
    $null
}

$skip = Get-SkipReason
if ($skip) {
    Write-Host "Integration tests skipped: $skip" -ForegroundColor Yellow
    Write-Result 0 0 $Boot.Count $skip
    exit 0
}
foreach ($f in @($Kernel, $KernelModule) | Where-Object { $_ }) {
    if (-not (Test-Path -LiteralPath $f)) {
        $msg = "The kernel file '$f' given with -Kernel/-KernelModule (or DAXFS_KERNEL/DAXFS_KERNEL_MODULE) does not exist."
        Write-Host $msg -ForegroundColor Red
        Write-Result 0 1 0 ''
        exit 0
    }
}

# The v8 boot needs the format-8 module: the kit's kernel/daxfs-v8.ko, or -KernelModule8 (DAXFS_KERNEL_MODULE8).
$module8 = if ($KernelModule8) { $KernelModule8 } else { Join-Path $Kit 'kernel/daxfs-v8.ko' }
$v8Skip = $null
$usesV8 = $Boot -contains 'v8' -or $Boot -contains 'hosts' # the hosts boot has two kernels write one format-8 image
if ($usesV8 -and $Kernel -and -not $KernelModule8) {
    # The kit's daxfs-v8.ko is built for the kit's kernel: another kernel needs its own.
    $v8Skip = "an own kernel ($Kernel) was given without a format-8 daxfs module built for it (give one with -KernelModule8 or DAXFS_KERNEL_MODULE8)"
}
elseif ($usesV8 -and -not (Test-Path -LiteralPath $module8)) {
    $v8Skip = "no format-8 daxfs module at $module8 (give one with -KernelModule8 or DAXFS_KERNEL_MODULE8, built for the kit's kernel)"
}
if ($v8Skip -and $Boot -contains 'v8') {
    Write-Host "Integration: boot 'v8' skipped: $v8Skip" -ForegroundColor Yellow
    $Boot = @($Boot | Where-Object { $_ -ne 'v8' })
}
$module8 = if (Test-Path -LiteralPath $module8) { (Resolve-Path -LiteralPath $module8).Path } else { $module8 }

# ---- prepare on the host ----
function Remove-Tree([string] $Path) {
    # Trees hold closed directories and names that are not UTF-8: chmod and rm take raw bytes.
    if (Test-Path -LiteralPath $Path) { & chmod -R u+rwx $Path 2>$null; & rm -rf $Path; if ($LASTEXITCODE) { throw "Cannot remove $Path." } }
}

Write-Host "Integration: preparing trees and images in $data"
$prepare = [Diagnostics.Stopwatch]::StartNew()
foreach ($d in 'trees', 'images', 'listings', 'results', 'bin', 'nvdimm-raw.img', 'hostile', 'nvdimm-hostile.img', 'v8', 'nvdimm-v8.img') { Remove-Tree (Join-Path $data $d) }
New-Item -ItemType Directory -Force -Path $results, (Join-Path $data 'images'), (Join-Path $data 'listings') | Out-Null

& dotnet build (Join-Path $PSScriptRoot 'TreeTools/DaxFs.TreeTools.csproj') -c Release -o (Join-Path $data 'bin') --nologo -v q -clp:ErrorsOnly | Out-Host
if ($LASTEXITCODE) { throw 'Building tests/Integration/TreeTools failed.' }
Add-Type -Path (Join-Path $data 'bin/DaxFs.TreeTools.dll')
Import-Module $ModulePath -Force

$asRoot = (& id -u) -eq '0'
if (-not $asRoot) { Write-Warning 'Not root: the trees keep your own uid/gid and readable modes, so owners and closed modes are not exercised.' }
$treeDir = Join-Path $data 'trees'
# The trees and images are the single-guest boots' (raw, devdax; v8 builds its format-8 images from the same trees); the hosts boot makes its own.
$trees = [Collections.Generic.List[object]]::new()
$images = [Collections.Generic.List[object]]::new()
$nvdimm = Join-Path $data 'nvdimm-raw.img'
$branchOffset = 0L; $scratchOffset = 0L; $nvdimmSize = 0L
if (@($Boot | Where-Object { $_ -in 'raw', 'devdax', 'v8' }).Count) {
& bash (Join-Path $vectors 'make-trees.sh') $treeDir | Out-Host
if ($LASTEXITCODE) { throw "make-trees.sh failed ($LASTEXITCODE)." }

foreach ($name in 'basic', 'wide', 'deep', 'empty', 'big', 'stride') {
    # A copy under the data folder: the guest sees the repository folder, but not necessarily ../shared (a /tmp/shared
    # on the host is hidden behind the guest's own /tmp).
    $expected = Join-Path $vectors "$name.expected.json"
    $copy = $null
    if (Test-Path $expected) {
        $copy = Join-Path $data "expected/$name.expected.json"
        New-Item -ItemType Directory -Force (Split-Path $copy) | Out-Null
        Copy-Item -LiteralPath $expected -Destination $copy -Force
    }
    $trees.Add([pscustomobject]@{ Name = $name; Kind = 'vector'; Seed = $null; Expected = $copy })
}
foreach ($g in @(@{ P = 'names'; S = 1101 }, @{ P = 'modes'; S = 2202 }, @{ P = 'shape'; S = 3303 }, @{ P = 'mixed'; S = 4404 }, @{ P = 'mixed'; S = 5505 })) {
    $name = "$($g.P)-$($g.S)"
    $count = [DaxFs.TreeTools.TreeGenerator]::Create((Join-Path $treeDir $name), $g.P, $g.S)
    Write-Host "  generated $name ($count entries)"
    $trees.Add([pscustomobject]@{ Name = $name; Kind = 'generated'; Seed = $g.S; Expected = $null })
}

foreach ($t in $trees) {
    $source = Join-Path $treeDir $t.Name
    $listing = Join-Path $data "listings/$($t.Name).json"
    [DaxFs.TreeTools.TreeListing]::Save([DaxFs.TreeTools.TreeListing]::List($source), $listing)
    $t | Add-Member Source $source
    $t | Add-Member Listing $listing
    foreach ($mode in 'static', 'branching', 'split') {
        $image = Join-Path $data "images/$($t.Name).$mode.daxfs"
        $extra = @{}
        # The vectors take the default 64 MiB delta region; generated trees a smaller one (each mount copies it in).
        if ($mode -ne 'static' -and $t.Kind -eq 'generated') { $extra.DeltaSize = 4MB }
        if ($mode -eq 'branching') { $extra.Branching = $true }
        if ($mode -eq 'split') { $extra.BackingFile = "$image.data" }
        $img = New-DaxFsImage -Path $source -Destination $image -Force @extra -WarningAction SilentlyContinue
        $images.Add([pscustomobject]@{
            Name = "$($t.Name).$mode"; Tree = $t.Name; Mode = $mode; Image = $image; Backing = $(if ($mode -eq 'split') { "$image.data" } else { $null })
            TotalSize = $img.TotalSize; Length = (Get-Item -LiteralPath $image).Length; Listing = $listing
        })
    }
}
# Every image into the raw boot's NVDIMM, each at its own 2 MiB-aligned offset from its start: the guest mounts them where they lie
# (copying them in over 9p would take minutes under emulation). The file's size is a multiple of 16 MiB (the kit's unit).
if (Test-Path -LiteralPath $nvdimm) { Remove-Item -LiteralPath $nvdimm }
# The first 24 MiB are Branches.Tests.ps1's own (its image with a 20 MiB delta region, at the start of /dev/pmem0 so
# that it can be read through the node as well), so that the kernel's writes into its branch table and logs touch
# nothing else.
$branchOffset = 0L
$offset = 24MB
foreach ($i in $images) {
    $i | Add-Member Offset $offset
    [DaxFs.TreeTools.NvdimmFile]::Place($nvdimm, $offset, $i.Image) | Out-Null
    $offset += [math]::Ceiling($i.Length / 2MB) * 2MB
}
# And 32 MiB of zeros after them, where the cmdlet tests write.
$scratchOffset = $offset
$nvdimmSize = [long]([math]::Ceiling(($offset + 32MB) / 16MB) * 16MB)
$fs = [IO.File]::Open($nvdimm, 'Open', 'ReadWrite'); try { $fs.SetLength($nvdimmSize) } finally { $fs.Dispose() }
}
# The hostile set: a small tree in static, branching (1 MiB delta region: exactly main's log) and split mode, every
# structural break (HostileImages.Structural) and seeded mutants (150 of the static image, 40 of the branching one with
# a live main branch); from a large tree (2,000 directories, 8,000 entries) the untouched images, 22 object-level
# breaks and 8 + 4 mutants; each at its own 64 KiB-aligned offset of the hostile boot's NVDIMM.
$hostileCount = 0
if ($Boot -contains 'hostile') {
    $hdir = New-Item -ItemType Directory -Force (Join-Path $data 'hostile')
    $src = Join-Path $hdir 'tree'
    New-Item -ItemType Directory -Force (Join-Path $src 'sub/deeper'), (Join-Path $src 'empty') | Out-Null
    Set-Content (Join-Path $src 'a.txt') 'alpha'
    Set-Content (Join-Path $src 'sub/b.txt') ('bravo ' * 300)
    [IO.File]::WriteAllBytes((Join-Path $src 'sub/deeper/c.bin'), [byte[]]((0..255) * 40))
    New-Item -ItemType SymbolicLink -Path (Join-Path $src 'link') -Target 'sub/b.txt' | Out-Null
    New-Item -ItemType HardLink -Path (Join-Path $src 'sub/a-again.txt') -Target (Join-Path $src 'a.txt') | Out-Null
    $hs = New-DaxFsImage -Path $src -Destination (Join-Path $hdir 'small.static.daxfs') -Force -WarningAction SilentlyContinue
    $hb = New-DaxFsImage -Path $src -Destination (Join-Path $hdir 'small.branching.daxfs') -Branching -DeltaSize 1MB -Force -WarningAction SilentlyContinue
    $splitData = Join-Path $hdir 'small.split.daxfs.data'
    $hp = New-DaxFsImage -Path $src -Destination (Join-Path $hdir 'small.split.daxfs') -BackingFile $splitData -DeltaSize 1MB -Force -WarningAction SilentlyContinue
    $static = [IO.File]::ReadAllBytes($hs.Path); $branching = [IO.File]::ReadAllBytes($hb.Path); $split = [IO.File]::ReadAllBytes($hp.Path)
    $cases = [Collections.Generic.List[object]]::new()
    $cases.AddRange([DaxFs.TreeTools.HostileImages]::Structural($static, $branching, $split))
    $cases.AddRange([DaxFs.TreeTools.HostileImages]::Mutants($static, 'static', 9001, 150))
    $cases.AddRange([DaxFs.TreeTools.HostileImages]::Mutants([DaxFs.TreeTools.HostileImages]::WithLiveMain($branching), 'branching', 9002, 40))
    # The large source: the small tree plus 2,000 directories and 8,000 entries (about 7 MiB per image), in the three
    # modes; the untouched images, the structural breaks aimed at objects (the last directory, file or symlink of the
    # inode table, the root's entries, branch logs, the page cache) and seeded mutants. Each large image costs the
    # emulated guest a few seconds to validate and, when the gate lets it through, to read in full, so the set is
    # chosen to add a few minutes to the boot (the superblock-level breaks are the same as the small tree's).
    $largeBreaks = 'root-not-inode-1', 'inode-type-fifo', 'root-dir-size-not-271', 'subdir-data-at-image-end', 'dirent-ino-past-count',
        'dirent-namelen-65535', 'dirent-name-with-slash', 'directory-contains-root', 'directory-contains-itself', 'two-dirs-share-entries',
        'file-data-past-end', 'file-size-huge', 'symlink-unterminated', 'symlink-empty-wild-offset', 'symlink-past-end', 'truncated-half',
        'main-log-past-end', 'delta-symlink-without-nul', 'branch-parent-cycle', 'aborted-parent-log-past-end', 'split-pcache-zero-slots',
        'split-file-past-backing'
    $large = Join-Path $hdir 'large'
    [DaxFs.TreeTools.HostileImages]::MakeLargeTree($src, $large, 2000, 8000, 1616)
    $ls = New-DaxFsImage -Path $large -Destination (Join-Path $hdir 'large.static.daxfs') -Force -WarningAction SilentlyContinue
    $lb = New-DaxFsImage -Path $large -Destination (Join-Path $hdir 'large.branching.daxfs') -Branching -DeltaSize 1MB -Force -WarningAction SilentlyContinue
    $largeData = Join-Path $hdir 'large.split.daxfs.data'
    $lp = New-DaxFsImage -Path $large -Destination (Join-Path $hdir 'large.split.daxfs') -BackingFile $largeData -DeltaSize 1MB -Force -WarningAction SilentlyContinue
    $lStatic = [IO.File]::ReadAllBytes($ls.Path); $lBranching = [IO.File]::ReadAllBytes($lb.Path)
    $cases.AddRange(@([DaxFs.TreeTools.HostileImages]::Structural($lStatic, $lBranching, [IO.File]::ReadAllBytes($lp.Path), 'large') |
            Where-Object { $_.Kind -eq 'valid' -or $_.Name.Substring('large-'.Length) -in $largeBreaks }))
    $cases.AddRange([DaxFs.TreeTools.HostileImages]::Mutants($lStatic, 'large-static', 9101, 8, 'large'))
    $cases.AddRange([DaxFs.TreeTools.HostileImages]::Mutants([DaxFs.TreeTools.HostileImages]::WithLiveMain($lBranching), 'large-branching', 9102, 4, 'large'))
    # The kernel source: the large tree's branching image after the real kernel made, changed, committed and aborted
    # branches in it (tests/fixtures/branches/large-kernel.daxfs.gz, README.md there): untouched, with breaks aimed at
    # the kernel's branch records and log entries, and seeded mutants of those bytes. The guest mounts every image the
    # gate lets through at main and at its live branches. Six mutants: each one the gate lets through costs three full
    # reads of 8,000 entries (measured at load 30: 70-126 s of the guest's time; the first six of this seed are 4
    # refused, 2 mounted), so the set stays within about a minute and a half of an idle CI machine's boot.
    $kernelImage = [DaxFs.TreeTools.HostileImages]::LoadFixture((Join-Path $root 'tests/fixtures/branches/large-kernel.daxfs.gz'))
    $cases.AddRange([DaxFs.TreeTools.HostileImages]::KernelBranchBreaks($kernelImage))
    $cases.AddRange([DaxFs.TreeTools.HostileImages]::KernelBranchMutants($kernelImage, 'kernel-mutant', 9201, 6))
    $hnv = Join-Path $data 'nvdimm-hostile.img'
    $at = 0L
    $entries = foreach ($c in $cases) {
        [DaxFs.TreeTools.NvdimmFile]::Place($hnv, $at, $c.Bytes) | Out-Null
        $backingFile = if (-not $c.Backing) { $null } elseif ($c.Source -eq 'large') { $largeData } else { $splitData }
        [pscustomobject]@{ Name = $c.Name; Kind = $c.Kind; Source = $c.Source; Expect = $c.Expect; Offset = $at; Length = $c.Bytes.Length; Backing = $backingFile }
        $at += [math]::Ceiling([math]::Max($c.Bytes.Length, 1) / 64KB) * 64KB
    }
    $hostileSize = [long]([math]::Ceiling(($at + 1MB) / 16MB) * 16MB)
    $fs = [IO.File]::Open($hnv, 'Open', 'ReadWrite'); try { $fs.SetLength($hostileSize) } finally { $fs.Dispose() }
    [pscustomobject]@{ NvdimmSize = $hostileSize; Source = $src; Cases = @($entries) } | ConvertTo-Json -Depth 4 | Set-Content (Join-Path $data 'hostile.json')
    $hostileCount = $cases.Count
    Write-Host ("Integration: hostile set of {0} images ({1} structural, {2} valid, {3} mutants; {5} from the large tree, {6} from its kernel-made branching image) in {4} MiB of NVDIMM" -f $cases.Count,
        @($cases | Where-Object Kind -eq 'structural').Count, @($cases | Where-Object Kind -eq 'valid').Count, @($cases | Where-Object Kind -eq 'mutant').Count, ($hostileSize / 1MB),
        @($cases | Where-Object Source -eq 'large').Count, @($cases | Where-Object Source -eq 'kernel').Count)
}

# The v8 boot: format-8 images in one raw NVDIMM (nvdimm-v8.img), each at its own 2 MiB-aligned offset: the v8 vectors,
# a format-5 vector (the refusal of the other generation), images built by DaxFs in format 8 from every tree (static,
# split; one overlay-only), copies that the kernel writes to, a large split image (2,000 directories, 8,000 entries, a
# 16 MiB overlay) for thousands of writes, and the hostile format-8 set; v8.json lists them.
$v8Count = 0
if ($Boot -contains 'v8') {
    . (Join-Path $PSScriptRoot 'V8Images.ps1')
    $vdir = New-Item -ItemType Directory -Force (Join-Path $data 'v8')
    $v8Vectors = Join-Path $vectors 'v8'
    $v8Images = [Collections.Generic.List[object]]::new()
    function Add-V8([string] $Name, [string] $Kind, [string] $Path, [string] $Backing, [string] $Listing, [string] $Tree) {
        $v8Images.Add([pscustomobject]@{ Name = $Name; Kind = $Kind; Image = $Path; Backing = $Backing; Listing = $Listing; Tree = $Tree; Length = (Get-Item -LiteralPath $Path).Length })
    }
    # The v8 vectors (mkdaxfs's) the module, runbook and validate tests use; the images DaxFs builds are the listed ones.
    foreach ($t in $trees | Where-Object { $_.Kind -eq 'vector' -and $_.Name -in 'basic', 'deep' }) {
        foreach ($mode in 'static', 'split') {
            $img = Join-Path $v8Vectors "$($t.Name).v8.$mode.daxfs"
            $back = Join-Path $v8Vectors "$($t.Name).v8.$mode.backing"
            if (-not (Test-Path -LiteralPath $img)) { continue }
            # Backing files are opened by the guest kernel: copies under the data folder, which the guest shares.
            $backCopy = $null
            if (Test-Path -LiteralPath $back) { $backCopy = Join-Path $vdir "$($t.Name).v8.$mode.backing"; Copy-Item -LiteralPath $back -Destination $backCopy -Force }
            Add-V8 "$($t.Name).v8.$mode" 'vector' $img $backCopy $t.Listing $t.Name
        }
    }
    foreach ($t in $trees) {
        foreach ($mode in 'Static', 'Split') {
            $img = Join-Path $vdir "$($t.Name).built.$($mode.ToLowerInvariant()).daxfs"
            $back = if ($mode -eq 'Split') { "$img.backing" } else { $null }
            New-V8Image -Source $t.Source -Destination $img -Mode $mode -BackingFile $back | Out-Null
            Add-V8 "$($t.Name).built.$($mode.ToLowerInvariant())" 'built' $img $back $t.Listing $t.Name
        }
    }
    New-V8Image -Destination (Join-Path $vdir 'overlay-only.built.daxfs') -Mode OverlayOnly -PoolSize 2MB | Out-Null
    Add-V8 'overlay-only.built' 'built' (Join-Path $vdir 'overlay-only.built.daxfs') $null $null $null
    # Copies the kernel writes to (writes through the mount, read back offline after a fresh mount): DaxFs's split image of
    # a tree of plain names (base files changed, removed, renamed and appended to) and of one of names that are not UTF-8,
    # and its overlay-only image (the large split image below takes thousands).
    $w = Join-Path $vdir 'write.basic.built.split.daxfs'
    New-V8Image -Source (Join-Path $treeDir 'basic') -Destination $w -Mode Split -BackingFile "$w.backing" -PoolSize 2MB -Buckets 1024 | Out-Null
    Add-V8 'write.basic.built.split' 'write' $w "$w.backing" $null 'basic'
    $w = Join-Path $vdir 'write.mixed-5505.built.split.daxfs'
    New-V8Image -Source (Join-Path $treeDir 'mixed-5505') -Destination $w -Mode Split -BackingFile "$w.backing" -PoolSize 4MB -Buckets 4096 | Out-Null
    Add-V8 'write.mixed-5505.built.split' 'write' $w "$w.backing" $null 'mixed-5505'
    $w = Join-Path $vdir 'write.overlay-only.built.daxfs'
    New-V8Image -Destination $w -Mode OverlayOnly -PoolSize 4MB -Buckets 4096 | Out-Null
    Add-V8 'write.overlay-only.built' 'write' $w $null $null $null
    # A container base image from an OCI layout (tests/fixtures/make-oci-layout.py: three layers, busybox-static as its
    # /bin/sh), split with an overlay: mounted read-write through its overlay, the module runs the image's own programs.
    $busybox = (Get-Command busybox -CommandType Application -ErrorAction Ignore | Select-Object -First 1).Source
    if ($busybox) {
        $oci = Join-Path $vdir 'oci'
        & python3 (Join-Path $root 'tests/fixtures/make-oci-layout.py') $oci $busybox
        if ($LASTEXITCODE) { throw "tests/fixtures/make-oci-layout.py failed (exit $LASTEXITCODE)" }
        $w = Join-Path $vdir 'container.built.split.daxfs'
        New-DaxFsImage -Path (Join-Path $oci 'layout') -Reference test -Destination $w -Format 8 -BackingFile "$w.backing" -OverlayPoolSize 4MB -OverlayBuckets 4096 -Force | Out-Null
        Add-V8 'container.built.split' 'container' $w "$w.backing" $null $null
    }
    # The other generation: a format-5 image, refused while the format-8 module is loaded.
    Add-V8 'deep.static.format5' 'format5' (Join-Path $vectors 'deep.static.daxfs') $null (($trees | Where-Object Name -eq 'deep').Listing) 'deep'
    # The large tree (as the hostile boot's: the small hostile tree plus 2,000 directories and 8,000 entries) in a split
    # image with a 16 MiB overlay: the kernel adds thousands of entries to it, and the guest breaks its overlay.
    $lsrc = Join-Path $vdir 'large-src'
    $small = Join-Path $vdir 'small-src'
    New-Item -ItemType Directory -Force (Join-Path $small 'sub') | Out-Null
    Set-Content (Join-Path $small 'a.txt') 'alpha'
    Set-Content (Join-Path $small 'sub/b.txt') ('bravo ' * 300)
    [DaxFs.TreeTools.HostileImages]::MakeLargeTree($small, $lsrc, 2000, 8000, 1616)
    $lim = Join-Path $vdir 'large.built.split.daxfs'
    New-V8Image -Source $lsrc -Destination $lim -Mode Split -BackingFile "$lim.backing" -PoolSize 16MB -Buckets 16384 -Slots 256 | Out-Null
    $llist = Join-Path $data 'listings/v8-large.json'
    [DaxFs.TreeTools.TreeListing]::Save([DaxFs.TreeTools.TreeListing]::List($lsrc), $llist)
    Add-V8 'large.built.split' 'large' $lim "$lim.backing" $llist 'large'
    $largeStatic = Join-Path $vdir 'large.built.static.daxfs'
    New-V8Image -Source $lsrc -Destination $largeStatic -Mode Static | Out-Null
    Add-V8 'large.built.static' 'built' $largeStatic $null $llist 'large'

    # The hostile format-8 set (host-made): every structural break of the two kernel-written overlays (the vectors'
    # overlay/), seeded mutants of them and of the large images (static: the base; split: the base and an empty overlay).
    $hostile = [Collections.Generic.List[object]]::new()
    $ovl = Join-Path $v8Vectors 'overlay'
    $ovlDir = if (Test-Path -LiteralPath $ovl) { $ovl } else { Join-Path $root 'tests/fixtures/overlay' }
    $splitBacking = Join-Path $vdir 'overlay-after-writes.backing'
    Copy-Item -LiteralPath (Join-Path $ovlDir 'overlay-after-writes.backing') -Destination $splitBacking -Force
    $ovSplit = [IO.File]::ReadAllBytes((Join-Path $ovlDir 'overlay-after-writes.daxfs'))
    $ovOnly = [IO.File]::ReadAllBytes((Join-Path $ovlDir 'overlay-only-after-writes.daxfs'))
    foreach ($c in @([pscustomobject]@{ Name = 'overlay-after-writes'; Kind = 'valid'; Expect = ''; Bytes = $ovSplit }) + @(New-V8StructuralBreaks $ovSplit 'overlay-after-writes') + @(New-V8Mutants $ovSplit 'overlay-after-writes' 8101 24)) {
        $c | Add-Member Backing $splitBacking; $c | Add-Member Source 'small'; $hostile.Add($c)
    }
    # (NoGate/RESULTS.md: among these, mutants 014 and 021 of the split overlay and 018 and 022 of the overlay-only one crash
    # the module without the gate, as does the split overlay's pool-offset-past-end.)
    foreach ($c in @([pscustomobject]@{ Name = 'overlay-only-after-writes'; Kind = 'valid'; Expect = ''; Bytes = $ovOnly }) + @(New-V8StructuralBreaks $ovOnly 'overlay-only-after-writes') + @(New-V8Mutants $ovOnly 'overlay-only-after-writes' 8102 24)) {
        $c | Add-Member Backing $null; $c | Add-Member Source 'small'; $hostile.Add($c)
    }
    $lsBytes = [IO.File]::ReadAllBytes($largeStatic)
    $rng = [Random]::new(8103)
    foreach ($n in 0..5) {
        $b = [byte[]]$lsBytes.Clone()
        foreach ($e in 1..(1 + $rng.Next(4))) { $b[$rng.Next($b.Length)] = [byte]$rng.Next(256) }
        $hostile.Add([pscustomobject]@{ Name = 'large-static-mutant-{0:000}' -f $n; Kind = 'mutant'; Expect = ''; Bytes = $b; Backing = $null; Source = 'large' })
    }
    $v8nv = Join-Path $data 'nvdimm-v8.img'
    $at = 0L
    foreach ($i in $v8Images) {
        $i | Add-Member Offset $at
        [DaxFs.TreeTools.NvdimmFile]::Place($v8nv, $at, $i.Image) | Out-Null
        $at += [math]::Ceiling($i.Length / 2MB) * 2MB
    }
    $cases = foreach ($c in $hostile) {
        [DaxFs.TreeTools.NvdimmFile]::Place($v8nv, $at, $c.Bytes) | Out-Null
        [pscustomobject]@{ Name = $c.Name; Kind = $c.Kind; Source = $c.Source; Expect = $c.Expect; Offset = $at; Length = $c.Bytes.Length; Backing = $c.Backing }
        $at += [math]::Ceiling($c.Bytes.Length / 64KB) * 64KB
    }
    # The slot where the guest writes, one at a time, the breaks of the overlay the kernel wrote into the large image.
    $at = [long]([math]::Ceiling($at / 2MB) * 2MB)
    $large = $v8Images | Where-Object Kind -eq 'large'
    $slot = [pscustomobject]@{ Offset = $at; Size = [long]([math]::Ceiling($large.Length / 2MB) * 2MB) }
    $v8Size = [long]([math]::Ceiling(($at + $slot.Size + 1MB) / 16MB) * 16MB)
    $fs = [IO.File]::Open($v8nv, 'Open', 'ReadWrite'); try { $fs.SetLength($v8Size) } finally { $fs.Dispose() }
    $module5 = if ($KernelModule) { (Resolve-Path -LiteralPath $KernelModule).Path } else { Join-Path $Kit 'kernel/daxfs.ko' }
    [pscustomobject]@{ NvdimmSize = $v8Size; Images = @($v8Images); Hostile = @($cases); Slot = $slot; Module5 = $module5; Module8 = $module8
        OverlayVectors = $ovlDir } | ConvertTo-Json -Depth 4 | Set-Content (Join-Path $data 'v8.json')
    $v8Count = $v8Images.Count + @($cases).Count
    Write-Host ("Integration: v8 boot: {0} images and {1} hostile format-8 images ({2} structural, {3} mutants) in {4} MiB of NVDIMM" -f $v8Images.Count, @($cases).Count,
        @($cases | Where-Object Kind -eq 'structural').Count, @($cases | Where-Object Kind -eq 'mutant').Count, ($v8Size / 1MB))
}

[pscustomobject]@{ AsRoot = $asRoot; NvdimmSize = $nvdimmSize; ScratchOffset = $scratchOffset; ScratchSize = $nvdimmSize - $scratchOffset; BranchOffset = $branchOffset; BranchSize = 24MB; Trees = $trees; Images = $images } | ConvertTo-Json -Depth 4 | Set-Content (Join-Path $data 'manifest.json')
$prepare.Stop()
Write-Host ("Integration: {0} trees, {1} images ({2} MiB of NVDIMM) in {3:0.0} s" -f $trees.Count, $images.Count, ($nvdimmSize / 1MB), $prepare.Elapsed.TotalSeconds)

# ---- boot and test in the guest ----
$kitArgs = @('--cpus', "$GuestCpus")
if ($Kernel) { $kitArgs += @('--kernel', (Resolve-Path -LiteralPath $Kernel).Path) }
if ($KernelModule) { $kitArgs += @('--module', (Resolve-Path -LiteralPath $KernelModule).Path) }
# The guest starts this pwsh's pwsh.dll with dotnet, not "dotnet pwsh", which goes through the SDK's tool lookup first
# (seconds of emulated CPU); "pwsh" where this pwsh has no pwsh.dll.
$guestPwsh = if (Test-Path -LiteralPath (Join-Path $PSHOME 'pwsh.dll')) { Join-Path $PSHOME 'pwsh.dll' } else { 'pwsh' }
$boots = [Collections.Generic.List[object]]::new()
$passed = 0; $failed = 0; $skipped = $(if ($v8Skip) { 1 } else { 0 })

# One single-guest boot started in the background: run-vm.sh with its console in results/BOOT.console.txt.
function Start-Boot([string] $Name, [int] $Restarts = 0) {
    $json = Join-Path $results "$Name.json"
    Remove-Item -LiteralPath $json -ErrorAction Ignore
    # The v8 boot loads the format-8 module (and switches to the format-5 one within the boot to test both).
    $bootKitArgs = if ($Name -eq 'v8') { @($kitArgs | Where-Object { $_ -ne '--module' -and $_ -ne $(if ($KernelModule) { (Resolve-Path -LiteralPath $KernelModule).Path }) }) + @('--module', $module8) } else { $kitArgs }
    $vmArgs = @((Join-Path $Kit 'run-vm.sh')) + $bootKitArgs + @('--timeout', "$BootTimeout")
    if ($Name -eq 'devdax') { $vmArgs += @('--devdax', '--memory-size', '512M') }
    elseif ($Name -eq 'hostile') { $vmArgs += @('--memory-file', (Join-Path $data 'nvdimm-hostile.img'), '--memory-size', "$($hostileSize / 1MB)M") }
    elseif ($Name -eq 'v8') { $vmArgs += @('--memory-file', (Join-Path $data 'nvdimm-v8.img'), '--memory-size', "$($v8Size / 1MB)M") }
    else { $vmArgs += @('--memory-file', $nvdimm, '--memory-size', "$($nvdimmSize / 1MB)M") }
    $vmArgs += @('--', 'dotnet', $guestPwsh, '-NoProfile', '-NonInteractive', '-File', (Join-Path $PSScriptRoot 'Invoke-GuestSuite.ps1'),
        '-Boot', $Name, '-PesterPath', $PesterPath, '-ModulePath', (Resolve-Path $ModulePath).Path, '-DataPath', $data, '-ResultFile', $json)
    $console = Join-Path $results "$Name.console.txt"
    Write-Host "Integration: boot '$Name' started$(if ($Restarts) { ' again' }): run-vm.sh $($vmArgs[1..($vmArgs.Count - 1)] -join ' ')"
    # bash sends the VM's output and errors to the console file; every argument is passed as it is.
    $si = [Diagnostics.ProcessStartInfo]::new('bash')
    foreach ($a in @('-c', 'exec "$@" > "$0" 2>&1', $console) + $vmArgs) { $si.ArgumentList.Add([string]$a) }
    $si.UseShellExecute = $false
    $si.WorkingDirectory = $root
    $env:DAXFS_IT_LAUNCHED = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
    $si.Environment['DAXFS_IT_LAUNCHED'] = $env:DAXFS_IT_LAUNCHED
    [pscustomobject]@{ Name = $Name; Json = $json; Console = $console; Restarts = $Restarts; Watch = [Diagnostics.Stopwatch]::StartNew(); Process = [Diagnostics.Process]::Start($si) }
}
# A guest whose kernel panicked before its pwsh started (under a heavy load the emulated timer check can fail: "IO-APIC +
# timer doesn't work"): no test of ours ran, so it is started once more. A crash after that is the boot's failure.
function Test-PanickedBeforeStart($Run) {
    $lines = @(Get-Content -LiteralPath $Run.Console -ErrorAction Ignore)
    $Run.Restarts -eq 0 -and -not (Test-Path -LiteralPath $Run.Json) -and ($lines -match 'Kernel panic') -and -not ($lines -match '^Guest: ')
}
# The boot's entry for the summary, from its result file, exit code and console.
function Complete-Boot($Run) {
    $Run.Watch.Stop()
    $b = $Run.Name
    $code = $Run.Process.ExitCode
    $console = @(Get-Content -LiteralPath $Run.Console -ErrorAction Ignore)
    Write-Host "---- boot '$b': its console ($($console.Count) lines) ----"
    $console | ForEach-Object { "[$b] $_" } | Out-Host
    $entry = [ordered]@{ Name = $b; ExitCode = $code; Seconds = [math]::Round($Run.Watch.Elapsed.TotalSeconds, 1); Passed = 0; Failed = 0; Skipped = 0; Note = '' }
    if ($Run.Restarts) { $entry.Note = 'started again after its kernel panicked while booting; ' }
    $r = if (Test-Path -LiteralPath $Run.Json) { Get-Content -Raw -LiteralPath $Run.Json | ConvertFrom-Json } else { $null }
    if ($r) {
        $entry.Passed = $r.Passed; $entry.Failed = $r.Failed; $entry.Skipped = $r.Skipped
        $entry.PwshStartSeconds = $r.StartSeconds; $entry.TestSeconds = $r.TestSeconds
        if ($r.PSObject.Properties['Hostile'] -and $r.Hostile) { $entry.Hostile = $r.Hostile }
        if ($r.PSObject.Properties['V8'] -and $r.V8) { $entry.V8 = $r.V8 }
    }
    if (-not $r -or $code -ne 0) {
        # No results, or the guest did not end cleanly after writing them (a crash afterwards): a failure either way,
        # with the console's last lines (the kernel's oops) in the result.
        $entry.Failed += 1
        $entry.Note += switch ($code) {
            124 { "the time limit of $BootTimeout s was reached" }
            125 { 'the guest stopped before the suite finished: a kernel crash (see the console lines)' }
            2 { 'run-vm.sh refused (usage or a missing prerequisite, see above)' }
            0 { 'the suite wrote no results (exit 0)' }
            default { "run-vm.sh exited with $code" }
        }
        $entry.ConsoleTail = @($console | Select-Object -Last 40)
        Write-Host "Integration: boot '$b' failed: $($entry.Note). The last console lines:" -ForegroundColor Red
        $entry.ConsoleTail | ForEach-Object { Write-Host "  $_" -ForegroundColor Red }
    }
    Write-Host ("Integration: boot '{0}' ended after {1:0} s: {2} passed, {3} failed, {4} skipped" -f $b, $entry.Seconds, $entry.Passed, $entry.Failed, $entry.Skipped)
    [pscustomobject]$entry
}

$running = [Collections.Generic.List[object]]::new()
Push-Location $root
try {
    # The single-guest boots, up to -Parallel of them side by side (each VM is its own process on its own memory file;
    # their guests write only their own files under results/), in the order given.
    $queue = [Collections.Generic.Queue[string]]::new([string[]]@($Boot | Where-Object { $_ -ne 'hosts' }))
    while ($queue.Count -or $running.Count) {
        while ($queue.Count -and $running.Count -lt $Parallel) { $running.Add((Start-Boot $queue.Dequeue())) }
        Start-Sleep -Milliseconds 500
        foreach ($run in @($running | Where-Object { $_.Process.HasExited })) {
            $null = $running.Remove($run)
            $run.Process.WaitForExit()
            if (Test-PanickedBeforeStart $run) {
                Write-Host "Integration: boot '$($run.Name)': its kernel panicked while booting, before any test; starting it again" -ForegroundColor Yellow
                Copy-Item -LiteralPath $run.Console "$($run.Console).panic" -Force
                $running.Add((Start-Boot $run.Name 1))
                continue
            }
            $entry = Complete-Boot $run
            $passed += $entry.Passed; $failed += $entry.Failed; $skipped += $entry.Skipped
            $boots.Add($entry)
        }
    }
    if ($Boot -contains 'hosts') {
        # Three guests on one memory file and this machine reading it offline (Invoke-HostsBoot.ps1): alone, after the others.
        Write-Host "Integration: boot 'hosts': three guests on one memory file"
        $entry = & (Join-Path $PSScriptRoot 'Invoke-HostsBoot.ps1') -Kit $Kit -KitArgs $kitArgs -PesterPath $PesterPath -ModulePath $ModulePath -DataPath $data -BootTimeout $BootTimeout -KernelModule8 $module8 -V8SkipReason $v8Skip
        $passed += $entry.Passed; $failed += $entry.Failed; $skipped += $entry.Skipped
        $boots.Add($entry)
    }
}
finally {
    # Stopped (Ctrl+C, an error here): no VM is left running.
    foreach ($run in @($running)) { if (-not $run.Process.HasExited) { $run.Process.Kill($true) } }
    Pop-Location
}

Write-Host ''
Write-Host 'Integration boots:'
$boots | Format-Table Name, ExitCode, Seconds, PwshStartSeconds, TestSeconds, Passed, Failed, Skipped, Note -AutoSize | Out-Host
foreach ($bt in $boots) {
    if ($bt.PSObject.Properties['Hostile'] -and $bt.Hostile) {
        $hc = $bt.Hostile
        Write-Host ("Integration: hostile set of {0} images: {1} refused by DaxFs, {2} mounted and read in full, {3} refused by the kernel itself, {4} mounted with read errors (mutants: {5} refused, {6} mounted)" -f
            $hc.Images, $hc.RefusedByDaxFs, $hc.MountedAndRead, $hc.RefusedByKernel, $hc.ReadErrors, $hc.MutantsRefused, $hc.MutantsMounted)
        foreach ($source in 'Small', 'Large', 'Kernel') {
            if (-not $hc.PSObject.Properties[$source]) { continue }
            $sc = $hc.$source
            Write-Host ("Integration: hostile, {0} source: {1} images tried, {2} refused by DaxFs, {3} mounted and read in full, {4} refused by the kernel, {5} read errors, {6} crashes" -f
                $source.ToLowerInvariant(), $sc.Images, $sc.RefusedByDaxFs, $sc.MountedAndRead, $sc.RefusedByKernel, $sc.ReadErrors, $(if ($bt.ExitCode -eq 0) { 0 } else { 'the boot died' }))
            if ($source -eq 'Kernel' -and $sc.PSObject.Properties['BranchesRead']) {
                Write-Host ("Integration: hostile, kernel source: live branches mounted: {0} read in full, {1} refused by the kernel, {2} read errors" -f $sc.BranchesRead, $sc.BranchesRefusedByKernel, $sc.BranchReadErrors)
            }
        }
    }
}
foreach ($bt in $boots) {
    if ($bt.PSObject.Properties['V8'] -and $bt.V8) {
        $v = $bt.V8
        Write-Host ("Integration: v8 boot: {0} images mounted and listed like their source, {1} written through the kernel and read back offline; hostile: {2} images, {3} refused by DaxFs, {4} mounted and read, {5} refused by the kernel, {6} read errors, {7} crashes" -f
            $v.Listed, $v.WrittenAndReadBack, $v.Hostile, $v.RefusedByDaxFs, $v.MountedAndRead, $v.RefusedByKernel, $v.ReadErrors, $(if ($bt.ExitCode -eq 0) { 0 } else { 'the boot died' }))
    }
}
Write-Host ("Integration: prepare {0:0.0} s, whole run {1:0.0} s" -f $prepare.Elapsed.TotalSeconds, $clock.Elapsed.TotalSeconds)
Write-Result $passed $failed $skipped $(if ($v8Skip) { "v8: $v8Skip" } else { '' }) $boots $prepare.Elapsed.TotalSeconds
exit 0
