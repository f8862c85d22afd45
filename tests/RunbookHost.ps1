# The runbook host of the runbook suites (Runbooks, PublishRootfs, ContainerView, UpdateImage and HostInventory.Tests.ps1):
# dot-sourced in their BeforeAll (it dot-sources Common.ps1 and saves the DAXFS_* variables for AfterAll).
# The runbooks of docs/runbooks, run without root or hardware. Pester's Mock replaces DaxFs's binary cmdlets like any
# command: the runbooks call them from script scope, so `Mock Mount-DaxFs` (no -ModuleName: DaxFs is a binary module,
# Pester can only inject into script modules, and the calls come from the runbook anyway) intercepts them, with their
# real parameters, so parameter filters name -Device, -MountPoint... The host underneath is fake but consistent:
#   - sysfs, /dev/dax0.0 (a sparse file) and daxctl in TestDrive, through the module's DAXFS_* variables, so the real
#     Get-DaxDevice, Write-DaxFsImage and Save-DaxFsImage read and write a device file;
#   - a mountinfo file (DAXFS_MOUNTINFO) that the mocked Mount-DaxFs/Dismount-DaxFs and mount/umount keep up to date,
#     so the real Get-DaxFsMount and the runbooks' own mount-table reads see what the mocks did;
#   - the mocked Mount-DaxFs shows at the mount point what the memory holds (Save-DaxFsImage, then Export-DaxFsItem),
#     so a corrupted write shows up through the "mount" as it would in the kernel.
# Every mocked call is logged in order in $RunbookCalls.
. (Join-Path $PSScriptRoot 'Common.ps1')
$script:SavedEnv = Save-FakeHostEnvironment

$script:Runbooks = Join-Path $RepoRoot 'docs/runbooks'
$script:Fixtures = Join-Path $PSScriptRoot 'fixtures/linux'
$script:DaxPhys = 0x100a00000
$script:DaxSize = 526385152

# A fake host: dax0.0 as recorded in the VM (502 MiB at 0x100a00000) in sysfs and as a sparse /dev file, daxctl and
# ndctl answering with the recorded listings, an empty mount table, memfd dma-bufs.
function New-FakeHost {
    $root = New-FakeHostRoot
    Add-FakeDaxDevice $root 'dax0.0' $DaxSize $DaxPhys -Mappings @(, @($DaxPhys, 0x11fffffff))
    New-Item -ItemType Directory -Force (Join-Path $root 'dev/dma_heap'), (Join-Path $root 'mnt') | Out-Null
    Set-Content (Join-Path $root 'dev/dma_heap/system') ''
    $tools = Add-FakeTool $root
    Set-FakeToolAnswer $tools daxctl list 'daxctl-list-devices-mappings.devdax.json'
    Set-FakeToolAnswer $tools ndctl list 'ndctl-list-N.devdax.json'
    $h = [pscustomobject]@{ Root = $root; Mnt = Join-Path $root 'mnt'; MountInfo = Join-Path $root 'mountinfo'; Node = Join-Path $root 'dev/dax0.0'; Work = Join-Path $root 'work' }
    Set-Content $h.MountInfo '' -NoNewline
    Set-FakeHostEnvironment -SysfsRoot $root -DevRoot (Join-Path $root 'dev') -MountInfo $h.MountInfo -Tools $tools -AssumeRoot 1 -DmaHeap memfd
    $global:RunbookCalls = [Collections.Generic.List[string]]::new()
    $global:RunbookNextMountId = 100
    $h
}

# A small root file system: files, an empty file, a symbolic link, a hard link, nested directories.
function New-RootTree([string] $Name, [string] $Motd = 'welcome') {
    $t = Join-Path $TestDrive $Name
    New-Item -ItemType Directory -Force "$t/etc", "$t/usr/bin", "$t/var/empty" | Out-Null
    Set-Content "$t/etc/hostname" 'node1'
    Set-Content "$t/etc/motd" $Motd
    [IO.File]::WriteAllBytes("$t/usr/bin/tool", [byte[]](1..200 | ForEach-Object { $_ }))
    New-Item -ItemType File "$t/etc/empty" | Out-Null
    New-Item -ItemType SymbolicLink -Path "$t/etc/issue" -Target motd | Out-Null
    New-Item -ItemType HardLink -Path "$t/usr/bin/tool2" -Target "$t/usr/bin/tool" | Out-Null
    $t
}

function Add-MountLine([string] $MountPoint, [string] $Type, [string] $Source, [string] $Options, [string] $MountOptions = 'rw,relatime') {
    $id = ++$global:RunbookNextMountId
    Add-Content $env:DAXFS_MOUNTINFO "$id 27 0:$id / $MountPoint $MountOptions - $Type $Source $Options"
}
function Remove-MountLine([string] $MountPoint) {
    $keep = @(Get-Content $env:DAXFS_MOUNTINFO | Where-Object { $_ -and ($_ -split ' ')[4] -ne $MountPoint })
    Set-Content $env:DAXFS_MOUNTINFO $keep
}
function Get-MountLines { @(Get-Content $env:DAXFS_MOUNTINFO | Where-Object { $_ }) }
function Clear-Directory([string] $Path) {
    if (Test-Path $Path) { chmod -R u+w $Path; Get-ChildItem -LiteralPath $Path -Force | Remove-Item -Recurse -Force }
}

# Mocks for the device and mount cmdlets and for mount(8)/umount(8), consistent with the mount table. Call in a
# BeforeEach (or It): Pester scopes the mocks to that block.
function Use-FakeMounts {
    Mock Mount-DaxFs {
        $global:RunbookCalls.Add("Mount-DaxFs $(if ($Device) { "-Device $Device" } else { '-DmaBuf' }) $MountPoint")
        $copy = Join-Path $TestDrive ('mounted-' + [guid]::NewGuid().ToString('n') + '.daxfs')
        if ($Device) { Save-DaxFsImage -Device $Device -Destination $copy | Out-Null } else { Save-DaxFsImage -DmaBuf $DmaBuf -Destination $copy | Out-Null }
        Export-DaxFsItem -Image $copy -Destination $MountPoint | Out-Null
        if ($Device) { Add-MountLine $MountPoint daxfs $Device ('ro,phys=0x{0:x},size={1},static' -f $DaxPhys, $DaxSize) 'ro,relatime' }
        else { Add-MountLine $MountPoint daxfs none 'ro,source=dmabuf,static' 'ro,relatime' }
        Get-DaxFsMount -MountPoint $MountPoint
    }
    Mock Dismount-DaxFs {
        foreach ($m in $MountPoint) {
            $global:RunbookCalls.Add("Dismount-DaxFs $m")
            Remove-MountLine $m
            Clear-Directory $m
        }
    }
    Mock mount {
        $global:RunbookCalls.Add("mount $($args -join ' ')")
        if ($args[0] -eq '--move') {
            $from, $to = $args[1], $args[2]
            $lines = Get-Content $env:DAXFS_MOUNTINFO | ForEach-Object { $f = $_ -split ' '; if ($f.Count -gt 4 -and $f[4] -eq $from) { $f[4] = $to }; $f -join ' ' }
            Set-Content $env:DAXFS_MOUNTINFO $lines
            Get-ChildItem -LiteralPath $from -Force | Move-Item -Destination $to
        }
        else {
            $type = $args[[array]::IndexOf($args, '-t') + 1]; $opts = $args[[array]::IndexOf($args, '-o') + 1]
            Add-MountLine $args[-1] $type $args[-2] "rw,$opts"
        }
        $global:LASTEXITCODE = 0
    }
    Mock umount {
        $global:RunbookCalls.Add("umount $($args -join ' ')")
        Remove-MountLine $args[-1]
        $global:LASTEXITCODE = 0
    }
    Mock New-DmaBuf { $global:RunbookCalls.Add("New-DmaBuf $Heap $Size"); & (Get-Command New-DmaBuf -CommandType Cmdlet) -Heap $Heap -Size $Size -Confirm:$false }
}
# Logs Write-DaxFsImage calls and lets the real cmdlet write into the fake device file.
function Use-LoggedWrite {
    Mock Write-DaxFsImage {
        $global:RunbookCalls.Add("Write-DaxFsImage $(Split-Path -Leaf $Image.Path) $(if ($Device) { "-Device $Device" } else { '-DmaBuf' })")
        # Mock bodies get the parameters as variables ($PSBoundParameters is empty there).
        $p = @{ Image = $Image; PassThru = $PassThru; Confirm = $false; ErrorAction = 'Stop' }
        if ($Device) { $p.Device = $Device } else { $p.DmaBuf = $DmaBuf }
        & (Get-Command Write-DaxFsImage -CommandType Cmdlet) @p
    }
}

# A host where the image of $Tree is already on dax0.0 and mounted at $MountPoint, set up without the mocks (so
# Should -Invoke counts only what the runbook under test does).
function Set-PublishedState([string] $Tree, [string] $MountPoint) {
    $img = New-DaxFsImage $Tree (Join-Path $TestDrive "pre-$(Get-Random).daxfs") -Owner Root
    & (Get-Command Write-DaxFsImage -CommandType Cmdlet) $img.Path -Device dax0.0 -Confirm:$false
    Export-DaxFsItem -Image $img.Path -Destination $MountPoint | Out-Null
    Add-MountLine $MountPoint daxfs dax0.0 ('ro,phys=0x{0:x},size={1},static' -f $DaxPhys, $DaxSize) 'ro,relatime'
}

function Get-DeviceSha([long] $Length) {
    $f = [IO.File]::OpenRead((Join-Path $env:DAXFS_DEV_ROOT 'dax0.0'))
    try { $b = [byte[]]::new($Length); $f.ReadExactly($b); [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData($b)) } finally { $f.Dispose() }
}

# An image with one byte of a file's data changed (the superblock and metadata intact): what a bad write leaves.
function New-CorruptCopy([string] $ImagePath, [string] $Marker) {
    $bytes = [IO.File]::ReadAllBytes($ImagePath)
    $at = [Text.Encoding]::Latin1.GetString($bytes).IndexOf($Marker, [StringComparison]::Ordinal)
    if ($at -lt 0) { throw "'$Marker' is not in $ImagePath" }
    $bytes[$at] = $bytes[$at] -bxor 0x20
    $out = "$ImagePath.corrupt"
    [IO.File]::WriteAllBytes($out, $bytes)
    $out
}

$script:Publish = Join-Path $Runbooks 'Publish-DaxFsRootfs.ps1'


# For AfterAll: the mocks' globals removed, the DAXFS_* variables restored.
function Reset-RunbookHost {
    Remove-Variable -Scope Global -Name RunbookCalls, RunbookNextMountId -ErrorAction Ignore
    Restore-FakeHostEnvironment $SavedEnv
}
