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
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Runbooks = Join-Path $RepoRoot 'docs/runbooks'
    $script:Fixtures = Join-Path $PSScriptRoot 'fixtures/linux'
    $script:SavedEnv = Save-FakeHostEnvironment
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
}

AfterAll {
    Remove-Variable -Scope Global -Name RunbookCalls, RunbookNextMountId -ErrorAction Ignore
    Restore-FakeHostEnvironment $SavedEnv
}

Describe 'The runbooks' {
    It '<_> has comment-based help for itself and every parameter, with examples' -ForEach @(
        'Publish-DaxFsRootfs.ps1', 'Add-DaxFsContainerView.ps1', 'Remove-DaxFsContainerView.ps1', 'Get-DaxHostInventory.ps1', 'Update-DaxFsImage.ps1',
        'Invoke-DaxFsBranchTrial.ps1'
    ) {
        $path = Join-Path $Runbooks $_
        $help = Get-Help $path -Full
        $help.Synopsis | Should -Not -BeLike "$_*"   # without a help block, Get-Help shows the syntax as the synopsis
        "$($help.description.Text)".Length | Should -BeGreaterThan 200
        @($help.examples.example).Count | Should -BeGreaterThan 0
        $cmd = Get-Command $path
        foreach ($p in $cmd.Parameters.Keys | Where-Object { $_ -notin [Management.Automation.PSCmdlet]::CommonParameters + [Management.Automation.PSCmdlet]::OptionalCommonParameters }) {
            ($help.parameters.parameter | Where-Object name -eq $p).description.Text | Should -Not -BeNullOrEmpty -Because "-$p needs a description"
        }
        $cmd.OutputType.Name | Should -BeLike 'DaxFs.Runbook.*'
        if ($_ -ne 'Get-DaxHostInventory.ps1') { $cmd.Parameters.Keys | Should -Contain 'WhatIf' }
    }
}

Describe 'Mocking DaxFs''s binary cmdlets' {
    It 'intercepts a binary cmdlet with its own parameters, so filters and -WhatIf binding work' {
        Mock Mount-DaxFs { 'mocked' } -ParameterFilter { $Device -eq 'dax7.0' }
        (Get-Command Mount-DaxFs -Module DaxFs).CommandType | Should -Be 'Cmdlet'
        Mount-DaxFs -Device dax7.0 -MountPoint /nowhere | Should -Be 'mocked'
        Should -Invoke Mount-DaxFs -Times 1 -Exactly -ParameterFilter { $MountPoint -eq '/nowhere' }
        $e = { Mount-DaxFs -Device dax7.0 -NoSuchParameter 1 -MountPoint /x } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -BeLike 'NamedParameterNotFound,*'
    }
    It 'cannot inject into the module: DaxFs is binary, and the runbooks call it from script scope anyway' {
        { Mock -ModuleName DaxFs -CommandName Get-DaxFsMount { } } | Should -Throw '*is not a Script or Manifest module*Binary*'
    }
    It 'constructs the objects the cmdlets return, for mocks to give back' {
        $m = [DaxFs.DaxFsMount]@{ MountPoint = '/mnt/rootfs'; Source = 'dax0.0'; ReadOnly = $true; PhysicalAddress = $DaxPhys; Size = $DaxSize; Static = $true }
        $m.PhysicalAddress | Should -Be $DaxPhys
        $p = [DaxFs.DaxFsMemoryImage]@{ TargetKind = 'DaxDevice'; Target = 'dax0.0'; Device = 'dax0.0'; Size = $DaxSize; Verified = $true; Sha256 = 'ab' }
        $p.Device | Should -Be 'dax0.0'
    }
}

Describe 'Publish-DaxFsRootfs.ps1 to a dax device' {
    BeforeEach {
        $h = New-FakeHost
        Use-FakeMounts
        Use-LoggedWrite
        $tree = New-RootTree "tree-$(Get-Random)"
        $mp = Join-Path $h.Mnt 'rootfs'
    }

    It 'builds, writes, mounts read-only and verifies every file, in that order' {
        $r = & $Publish -Path $tree -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false
        $r.PSObject.TypeNames[0] | Should -Be 'DaxFs.Runbook.PublishReport'
        $r.Status | Should -Be 'Published'
        $r.Written | Should -BeTrue
        $r.FilesVerified | Should -Be 5
        $r.Mismatches | Should -BeNullOrEmpty
        $r.PreviousSha256 | Should -BeNullOrEmpty
        $RunbookCalls | Should -Be @('Write-DaxFsImage rootfs.daxfs -Device dax0.0', "Mount-DaxFs -Device dax0.0 $mp")
        Get-DeviceSha $r.TotalSize | Should -Be $r.ImageSha256
        Get-Content "$mp/etc/motd" | Should -Be 'welcome'
        (Get-DaxFsMount $mp).ReadOnly | Should -BeTrue
    }
    It 'is idempotent: the same image on the device only makes sure of the mount' {
        & $Publish -Path $tree -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false | Out-Null
        $RunbookCalls.Clear()
        $again = & $Publish -Path $tree -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false
        $again.Status | Should -Be 'Unchanged'
        $again.HeaderMatch | Should -BeTrue
        $again.ContentMatch | Should -BeTrue
        $again.FilesVerified | Should -Be 5
        $RunbookCalls | Should -BeNullOrEmpty

        Dismount-DaxFs $mp
        $RunbookCalls.Clear()
        (& $Publish -Path $tree -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false).Status | Should -Be 'Remounted'
        $RunbookCalls | Should -Be @("Mount-DaxFs -Device dax0.0 $mp")
    }
    It 'replaces a different image: dismount, write, mount, verify' {
        & $Publish -Path $tree -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false | Out-Null
        Set-Content "$tree/etc/motd" 'second edition'
        $RunbookCalls.Clear()
        $r = & $Publish -Path $tree -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false
        $r.Status | Should -Be 'Published'
        $r.ContentMatch | Should -BeFalse
        $r.PreviousSha256 | Should -Not -Be $r.ImageSha256
        $RunbookCalls | Should -Be @("Dismount-DaxFs $mp", 'Write-DaxFsImage rootfs.daxfs -Device dax0.0', "Mount-DaxFs -Device dax0.0 $mp")
        Get-Content "$mp/etc/motd" | Should -Be 'second edition'
    }
    It 'changes nothing under -WhatIf, but still reads what the device holds' {
        Set-PublishedState $tree $mp
        $before = Get-DeviceSha 1MB
        Set-Content "$tree/etc/motd" 'not yet'
        $RunbookCalls.Clear()
        Mock Save-DaxFsImage { $global:RunbookCalls.Add('Save-DaxFsImage'); & (Get-Command Save-DaxFsImage -CommandType Cmdlet) -Device $Device -Destination $Destination -Force:$Force -WhatIf:$false }
        & $Publish -Path $tree -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -WhatIf | Should -BeNullOrEmpty
        $RunbookCalls | Should -Be @('Save-DaxFsImage')
        Should -Invoke Write-DaxFsImage -Times 0 -Exactly
        Should -Invoke Dismount-DaxFs -Times 0 -Exactly
        Should -Invoke Mount-DaxFs -Times 0 -Exactly
        Get-DeviceSha 1MB | Should -Be $before
        Get-Content "$mp/etc/motd" | Should -Be 'welcome'
    }
    It 'rolls back when the write fails half-way: the previous image is written back and mounted again' {
        & $Publish -Path $tree -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false | Out-Null
        $old = Get-DeviceSha (Get-DaxFsImage "$($h.Work)/rootfs.daxfs").TotalSize
        Set-Content "$tree/etc/motd" 'broken edition'
        $RunbookCalls.Clear()
        Mock Write-DaxFsImage -ParameterFilter { $Image.Path -like '*rootfs.daxfs' } {
            $global:RunbookCalls.Add('Write-DaxFsImage rootfs.daxfs (fails)')
            $half = "$($Image.Path).half"
            $b = [IO.File]::ReadAllBytes($Image.Path); [IO.File]::WriteAllBytes($half, $b[0..8191])   # only its first 8 KiB land
            $f = [IO.File]::OpenWrite((Join-Path $env:DAXFS_DEV_ROOT 'dax0.0')); try { $f.Write($b, 0, 8192) } finally { $f.Dispose() }
            throw [InvalidOperationException]::new('Write verification failed at offset 0x2000')
        }
        $r = & $Publish -Path $tree -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $r.Status | Should -Be 'RolledBack'
        $r.Error | Should -Match 'verification failed'
        "$err" | Should -Match 'rolled back'
        $RunbookCalls | Should -Be @("Dismount-DaxFs $mp", 'Write-DaxFsImage rootfs.daxfs (fails)', 'Write-DaxFsImage previous-dax0.0.daxfs -Device dax0.0', "Mount-DaxFs -Device dax0.0 $mp")
        Get-DeviceSha $r.TotalSize | Should -Not -Be $r.ImageSha256
        Get-DeviceSha (Get-DaxFsImage "$($h.Work)/previous-dax0.0.daxfs").TotalSize | Should -Be $old
        Get-Content "$mp/etc/motd" | Should -Be 'welcome'
    }
    It 'rolls back when the files seen through the mount differ from the image (a corrupted write)' {
        & $Publish -Path $tree -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false | Out-Null
        Set-Content "$tree/etc/motd" 'corrupted edition'
        $RunbookCalls.Clear()
        # The write lands one flipped bit in /etc/motd's data, yet reports the intended image: the mount must catch it.
        Mock Write-DaxFsImage -ParameterFilter { $Image.Path -like '*rootfs.daxfs' } {
            $global:RunbookCalls.Add('Write-DaxFsImage rootfs.daxfs (corrupts)')
            $bad = New-CorruptCopy $Image.Path 'corrupted edition'
            $placed = & (Get-Command Write-DaxFsImage -CommandType Cmdlet) -Image $bad -Device $Device -PassThru -Confirm:$false
            [DaxFs.DaxFsMemoryImage]@{ TargetKind = $placed.TargetKind; Target = $placed.Target; Device = $placed.Device; Size = $placed.Size
                PhysicalAddress = $placed.PhysicalAddress; ImagePath = $Image.Path; BytesWritten = $placed.BytesWritten; Verified = $true
                Sha256 = (Get-FileHash $Image.Path).Hash.ToLowerInvariant() }
        }
        $r = & $Publish -Path $tree -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false -ErrorAction SilentlyContinue
        $r.Status | Should -Be 'RolledBack'
        @($r.Mismatches).Count | Should -Be 1
        $r.Mismatches[0] | Should -BeLike 'content differs: /etc/motd *'
        $RunbookCalls | Should -Be @("Dismount-DaxFs $mp", 'Write-DaxFsImage rootfs.daxfs (corrupts)', "Mount-DaxFs -Device dax0.0 $mp",
            "Dismount-DaxFs $mp", 'Write-DaxFsImage previous-dax0.0.daxfs -Device dax0.0', "Mount-DaxFs -Device dax0.0 $mp")
        Get-Content "$mp/etc/motd" | Should -Be 'welcome'
    }
    It 'refuses an unsafe image before touching the device' {
        $bad = Join-Path $TestDrive 'unsafe.daxfs'
        # basic with inode 18 (/a/five000) zeroed: a dirent names an inode of no type (INODE-TYPE, an error)
        $bytes = [IO.File]::ReadAllBytes((Join-Path $Vectors 'basic.static.daxfs'))
        [Array]::Clear($bytes, 0x2000 + 17 * 64, 64)
        [IO.File]::WriteAllBytes($bad, $bytes)
        { & $Publish -Image $bad -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false } | Should -Throw '*not safe to mount*'
        $RunbookCalls | Should -BeNullOrEmpty
        Get-DeviceSha 4096 | Should -Be ([Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([byte[]]::new(4096))))
    }
    It 'refuses an image larger than the device, a branching image, and a mount point with overlay views on it' {
        Mock Get-DaxDevice { [DaxFs.DaxDevice]@{ Name = 'dax0.0'; Mode = 'devdax'; Size = 16KB; PhysicalAddress = $DaxPhys } }
        { & $Publish -Path $tree -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false } | Should -Throw '*needs * bytes; dax0.0 has 16384*'
        $branching = New-DaxFsImage $tree (Join-Path $TestDrive 'b.daxfs') -Branching -DeltaSize 2MB
        { & $Publish -Image $branching.Path -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false } | Should -Throw '*Branching image*'
        Add-MountLine "$($h.Mnt)/views/c1" overlay overlay "rw,lowerdir=$mp,upperdir=/run/u,workdir=/run/w"
        { & $Publish -Path $tree -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false } | Should -Throw '*lower layer of 1 OverlayFS view*Update-DaxFsImage*'
        $RunbookCalls | Should -BeNullOrEmpty
    }
}

Describe 'Publish-DaxFsRootfs.ps1 to a dma-buf' {
    BeforeEach {
        $h = New-FakeHost
        Use-FakeMounts
        Use-LoggedWrite
        $tree = New-RootTree "tree-$(Get-Random)"
        $mp = Join-Path $h.Mnt 'rootfs'
        $staging = Join-Path $h.Work 'staging'
    }

    It 'verifies at a staging mount point, then moves the mount into place' {
        $r = & $Publish -Path $tree -DmaBuf -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false
        $r.Status | Should -Be 'Published'
        $r.TargetKind | Should -Be 'DmaBuf'
        $RunbookCalls | Should -Be @("New-DmaBuf system $($r.TotalSize)", 'Write-DaxFsImage rootfs.daxfs -DmaBuf', "Mount-DaxFs -DmaBuf $staging", "mount --move $staging $mp")
        (Get-DaxFsMount $mp).DmaBuf | Should -BeTrue
        Get-Content "$mp/etc/hostname" | Should -Be 'node1'
    }
    It 'leaves a mount that already shows the image alone' {
        & $Publish -Path $tree -DmaBuf -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false | Out-Null
        $RunbookCalls.Clear()
        (& $Publish -Path $tree -DmaBuf -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false).Status | Should -Be 'Unchanged'
        $RunbookCalls | Should -BeNullOrEmpty
    }
    It 'keeps the previous mount when the new image fails verification' {
        & $Publish -Path $tree -DmaBuf -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false | Out-Null
        Set-Content "$tree/etc/motd" 'corrupted edition'
        $RunbookCalls.Clear()
        Mock Write-DaxFsImage -ParameterFilter { $DmaBuf } {
            $global:RunbookCalls.Add('Write-DaxFsImage (corrupts)')
            $placed = & (Get-Command Write-DaxFsImage -CommandType Cmdlet) -Image (New-CorruptCopy $Image.Path 'corrupted edition') -DmaBuf $DmaBuf -PassThru -Confirm:$false
            [DaxFs.DaxFsMemoryImage]@{ TargetKind = 'DmaBuf'; Target = $placed.Target; DmaBuf = $DmaBuf; Size = $placed.Size; ImagePath = $Image.Path
                BytesWritten = $placed.BytesWritten; Verified = $true; Sha256 = (Get-FileHash $Image.Path).Hash.ToLowerInvariant() }
        }
        $r = & $Publish -Path $tree -DmaBuf -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false -ErrorAction SilentlyContinue
        $r.Status | Should -Be 'RolledBack'
        $RunbookCalls | Should -Be @("New-DmaBuf system $($r.TotalSize)", 'Write-DaxFsImage (corrupts)', "Mount-DaxFs -DmaBuf $staging", "Dismount-DaxFs $staging")
        Get-Content "$mp/etc/motd" | Should -Be 'welcome'
        @(Get-DaxFsMount).MountPoint | Should -Be @($mp)
    }
}

Describe 'Add-DaxFsContainerView.ps1 and Remove-DaxFsContainerView.ps1' {
    BeforeAll {
        $script:AddView = Join-Path $Runbooks 'Add-DaxFsContainerView.ps1'
        $script:RemoveView = Join-Path $Runbooks 'Remove-DaxFsContainerView.ps1'
    }
    BeforeEach {
        $h = New-FakeHost
        Use-FakeMounts
        $tree = New-RootTree "tree-$(Get-Random)"
        $mp = Join-Path $h.Mnt 'rootfs'
        $views = Join-Path $h.Root 'views'
        & (Get-Command Write-DaxFsImage -CommandType Cmdlet) (New-DaxFsImage $tree (Join-Path $TestDrive "v-$(Get-Random).daxfs") -Owner Root).Path -Device dax0.0 -Confirm:$false
    }

    It 'mounts the image once and gives each container a tmpfs and an overlay on it, in that order' {
        $v = @(& $AddView -Name c1, c2, c3 -Device dax0.0 -MountPoint $mp -ViewRoot $views -TmpfsSize 64m -Confirm:$false)
        $v.Count | Should -Be 3
        $v[0].PSObject.TypeNames[0] | Should -Be 'DaxFs.Runbook.ContainerView'
        $v.State | Should -Be @('Created', 'Created', 'Created')
        $v[1].Root | Should -Be "$views/c2/root"
        $RunbookCalls[0] | Should -Be "Mount-DaxFs -Device dax0.0 $mp"
        $RunbookCalls[1] | Should -Be "mount -t tmpfs -o size=64m,mode=0755 tmpfs-c1 $views/c1/rw"
        $RunbookCalls[2] | Should -Be "mount -t overlay -o lowerdir=$mp,upperdir=$views/c1/rw/upper,workdir=$views/c1/rw/work overlay-c1 $views/c1/root"
        $RunbookCalls.Count | Should -Be 7
        Should -Invoke Mount-DaxFs -Times 1 -Exactly
        (Get-MountLines).Count | Should -Be 7
        Test-Path "$views/c3/rw/upper" | Should -BeTrue
    }
    It 'reuses a daxfs mount that is already there and reports views that exist' {
        & $AddView -Name c1 -Device dax0.0 -MountPoint $mp -ViewRoot $views -Confirm:$false | Out-Null
        $RunbookCalls.Clear()
        $v = @('c1', 'c2' | & $AddView -MountPoint $mp -ViewRoot $views -Confirm:$false)
        $v.State | Should -Be @('Existing', 'Created')
        $RunbookCalls | Should -Be @("mount -t tmpfs -o size=256m,mode=0755 tmpfs-c2 $views/c2/rw",
            "mount -t overlay -o lowerdir=$mp,upperdir=$views/c2/rw/upper,workdir=$views/c2/rw/work overlay-c2 $views/c2/root")
    }
    It 'mounts nothing under -WhatIf' {
        & $AddView -Name c1, c2 -Device dax0.0 -MountPoint $mp -ViewRoot $views -WhatIf | Should -BeNullOrEmpty
        $RunbookCalls | Should -BeNullOrEmpty
        Should -Invoke mount -Times 0 -Exactly
        Should -Invoke Mount-DaxFs -Times 0 -Exactly
        Get-MountLines | Should -BeNullOrEmpty
    }
    It 'refuses without a mount or a device, and refuses a read-write lower layer' {
        { & $AddView -Name c1 -MountPoint $mp -ViewRoot $views -Confirm:$false } | Should -Throw '*Nothing is mounted at*'
        Add-MountLine $mp daxfs dax0.0 ('rw,phys=0x{0:x},size={1},branch=/main' -f $DaxPhys, $DaxSize)
        { & $AddView -Name c1 -MountPoint $mp -ViewRoot $views -Confirm:$false } | Should -Throw '*read-write*'
        Should -Invoke mount -Times 0 -Exactly
    }
    It 'takes a view that fails half-way down again and goes on with the others' {
        Mock mount -ParameterFilter { $args -contains "overlay-c2" } { $global:RunbookCalls.Add("mount overlay-c2 (fails)"); $global:LASTEXITCODE = 32 }
        $v = @(& $AddView -Name c1, c2, c3 -Device dax0.0 -MountPoint $mp -ViewRoot $views -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue)
        $v.Name | Should -Be @('c1', 'c3')
        "$err" | Should -Match 'The view c2 was not made.*exit 32'
        $RunbookCalls | Should -Contain "umount $views/c2/rw"
        $RunbookCalls.IndexOf("umount $views/c2/rw") | Should -Be ($RunbookCalls.IndexOf('mount overlay-c2 (fails)') + 1)
        Test-Path "$views/c2" | Should -BeFalse
        @(Get-MountLines | Where-Object { $_ -match '/c2/' }) | Should -BeNullOrEmpty
    }
    It 'removes every view, overlay before tmpfs, then the image mount' {
        & $AddView -Name c1, c2 -Device dax0.0 -MountPoint $mp -ViewRoot $views -Confirm:$false | Out-Null
        Set-Content "$views/c1/rw/upper/written-by-container" 'x'
        $RunbookCalls.Clear()
        $r = @(& $RemoveView -ViewRoot $views -MountPoint $mp -DismountImage -Confirm:$false)
        $r.State | Should -Be @('Removed', 'Removed')
        $r[0].Lower | Should -Be $mp
        $RunbookCalls | Should -Be @("umount $views/c1/root", "umount $views/c1/rw", "umount $views/c2/root", "umount $views/c2/rw", "Dismount-DaxFs $mp")
        Get-MountLines | Should -BeNullOrEmpty
        Get-ChildItem $views | Should -BeNullOrEmpty
    }
    It 'leaves a busy view whole and keeps the image mounted' {
        & $AddView -Name c1, c2 -Device dax0.0 -MountPoint $mp -ViewRoot $views -Confirm:$false | Out-Null
        $RunbookCalls.Clear()
        Mock umount -ParameterFilter { $args[-1] -like '*/c1/root' } { $global:RunbookCalls.Add("umount c1/root (busy)"); $global:LASTEXITCODE = 32 }
        $r = @(& $RemoveView -ViewRoot $views -MountPoint $mp -DismountImage -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue)
        $r.Name | Should -Be @('c2')
        "$err" | Should -Match 'c1 is busy'
        $RunbookCalls | Should -Be @('umount c1/root (busy)', "umount $views/c2/root", "umount $views/c2/rw")
        @(Get-MountLines).Count | Should -Be 3   # c1's overlay and tmpfs, and the image
        Test-Path "$views/c1/rw/upper" | Should -BeTrue
    }
    It 'removes nothing under -WhatIf' {
        & $AddView -Name c1 -Device dax0.0 -MountPoint $mp -ViewRoot $views -Confirm:$false | Out-Null
        $RunbookCalls.Clear()
        & $RemoveView -ViewRoot $views -MountPoint $mp -DismountImage -WhatIf | Should -BeNullOrEmpty
        $RunbookCalls | Should -BeNullOrEmpty
        @(Get-MountLines).Count | Should -Be 3
    }
}

Describe 'Update-DaxFsImage.ps1' {
    BeforeAll {
        $script:Update = Join-Path $Runbooks 'Update-DaxFsImage.ps1'
        $script:AddView = Join-Path $Runbooks 'Add-DaxFsContainerView.ps1'
    }
    BeforeEach {
        $h = New-FakeHost
        Use-FakeMounts
        Use-LoggedWrite
        $tree = New-RootTree "tree-$(Get-Random)"
        $mp = Join-Path $h.Mnt 'rootfs'
        $views = Join-Path $h.Root 'views'
        Set-PublishedState $tree $mp
        & $AddView -Name c1, c2 -MountPoint $mp -ViewRoot $views -Confirm:$false | Out-Null
        Set-Content "$views/c1/rw/upper/kept" 'written by the container'
        $RunbookCalls.Clear()
        $c1 = "$views/c1/root"; $c2 = "$views/c2/root"
        $overlay = { param($n) "mount -t overlay -o lowerdir=$mp,upperdir=$views/$n/rw/upper,workdir=$views/$n/rw/work overlay-$n $views/$n/root" }
    }

    It 'takes the views down last-first, replaces and verifies the image, and mounts the views again' {
        Set-Content "$tree/etc/motd" 'version 2'
        $r = & $Update -Path $tree -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false
        $r.PSObject.TypeNames[0] | Should -Be 'DaxFs.Runbook.UpdateReport'
        $r.Status | Should -Be 'Updated'
        $r.Publish.Status | Should -Be 'Published'
        $r.Publish.FilesVerified | Should -Be 5
        $r.Consumers | Should -Be @($c1, $c2)
        $r.ConsumersRemounted | Should -Be @($c1, $c2)
        $RunbookCalls | Should -Be @("umount $c2", "umount $c1", "Dismount-DaxFs $mp", 'Write-DaxFsImage new.daxfs -Device dax0.0',
            "Mount-DaxFs -Device dax0.0 $mp", (& $overlay c1), (& $overlay c2))
        Get-Content "$mp/etc/motd" | Should -Be 'version 2'
        Get-Content "$views/c1/rw/upper/kept" | Should -Be 'written by the container'
        Get-DeviceSha $r.Publish.TotalSize | Should -Be $r.ImageSha256
    }
    It 'rolls back to the old image when verification fails, and mounts the views on it again' {
        $oldSha = Get-DeviceSha (Get-DaxFsImage (Get-ChildItem $TestDrive -Filter 'pre-*.daxfs')[0].FullName).TotalSize
        Set-Content "$tree/etc/motd" 'corrupted edition'
        Mock Write-DaxFsImage -ParameterFilter { $Image.Path -like '*new.daxfs' } {
            $global:RunbookCalls.Add('Write-DaxFsImage new.daxfs (corrupts)')
            $placed = & (Get-Command Write-DaxFsImage -CommandType Cmdlet) -Image (New-CorruptCopy $Image.Path 'corrupted edition') -Device $Device -PassThru -Confirm:$false
            [DaxFs.DaxFsMemoryImage]@{ TargetKind = 'DaxDevice'; Target = $Device; Device = $Device; Size = $placed.Size; PhysicalAddress = $placed.PhysicalAddress
                ImagePath = $Image.Path; BytesWritten = $placed.BytesWritten; Verified = $true; Sha256 = (Get-FileHash $Image.Path).Hash.ToLowerInvariant() }
        }
        $r = & $Update -Path $tree -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $r.Status | Should -Be 'RolledBack'
        "$err" | Should -Match 'Updating dax0.0 failed \(RolledBack\)'
        $r.Publish.Mismatches | Should -BeLike 'content differs: /etc/motd *'
        $RunbookCalls | Should -Be @("umount $c2", "umount $c1", "Dismount-DaxFs $mp", 'Write-DaxFsImage new.daxfs (corrupts)', "Mount-DaxFs -Device dax0.0 $mp",
            "Dismount-DaxFs $mp", 'Write-DaxFsImage previous-dax0.0.daxfs -Device dax0.0', "Mount-DaxFs -Device dax0.0 $mp", (& $overlay c1), (& $overlay c2))
        Get-DeviceSha $r.Publish.TotalSize | Should -Be $oldSha
        Get-Content "$mp/etc/motd" | Should -Be 'welcome'
        $r.ConsumersRemounted | Should -Be @($c1, $c2)
    }
    It 'checks that the new image fits before taking anything down' {
        Mock Get-DaxDevice { [DaxFs.DaxDevice]@{ Name = 'dax0.0'; Mode = 'devdax'; Size = 16KB; PhysicalAddress = $DaxPhys } }
        { & $Update -Path $tree -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false } | Should -Throw '*needs * bytes; dax0.0 has 16384. Nothing was changed.'
        $RunbookCalls | Should -BeNullOrEmpty
    }
    It 'does nothing when the device already holds the image' {
        (& $Update -Path $tree -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false).Status | Should -Be 'Unchanged'
        $RunbookCalls | Should -BeNullOrEmpty
    }
    It 'changes nothing under -WhatIf' {
        Set-Content "$tree/etc/motd" 'version 2'
        & $Update -Path $tree -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -WhatIf | Should -BeNullOrEmpty
        $RunbookCalls | Should -BeNullOrEmpty
        Should -Invoke umount -Times 0 -Exactly
        Should -Invoke Dismount-DaxFs -Times 0 -Exactly
        Get-Content "$mp/etc/motd" | Should -Be 'welcome'
    }
    It 'writes nothing when a view is busy, and mounts the views it took down again' {
        Set-Content "$tree/etc/motd" 'version 2'
        Mock umount -ParameterFilter { $args[-1] -like '*/c1/root' } { $global:RunbookCalls.Add('umount c1 (busy)'); $global:LASTEXITCODE = 32 }
        $r = & $Update -Path $tree -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false -ErrorAction SilentlyContinue
        $r.Status | Should -Be 'Failed'
        $r.Error | Should -Match 'busy. Nothing was written'
        $RunbookCalls | Should -Be @("umount $c2", 'umount c1 (busy)', (& $overlay c2))
        Get-Content "$mp/etc/motd" | Should -Be 'welcome'
    }
}

Describe 'Get-DaxHostInventory.ps1' {
    BeforeAll { $script:Inventory = Join-Path $Runbooks 'Get-DaxHostInventory.ps1' }
    BeforeEach {
        $h = New-FakeHost
        $tree = New-RootTree "tree-$(Get-Random)"
        $mp = Join-Path $h.Mnt 'rootfs'
        Mock ndctl { Get-Content (Join-Path $Fixtures 'ndctl-list-R.devdax.json') -Raw; $global:LASTEXITCODE = 0 } -ParameterFilter { "$args" -eq 'list --regions' }
    }

    It 'lists regions, namespaces, devices, heaps and mounts, with the image each holds, and exits 0 on a healthy host' {
        Set-PublishedState $tree $mp
        $imageSha = (Get-FileHash (Get-ChildItem $TestDrive -Filter 'pre-*.daxfs' | Sort-Object LastWriteTime | Select-Object -Last 1).FullName).Hash
        $global:LASTEXITCODE = 99
        $rows = @(& $Inventory -CsvPath "$TestDrive/inv.csv" -JsonPath "$TestDrive/inv.json" -WorkDirectory $h.Work)
        $LASTEXITCODE | Should -Be 0
        $rows.Kind | Should -Be @('Region', 'Namespace', 'DaxDevice', 'DmaHeap', 'Mount')
        $rows[0].PSObject.TypeNames[0] | Should -Be 'DaxFs.Runbook.InventoryItem'
        $rows.Severity | Should -Be @('OK', 'OK', 'OK', 'OK', 'OK')
        $rows[0].Name | Should -Be 'region0'
        $dev = $rows | Where-Object Kind -eq 'DaxDevice'
        $dev.PhysicalAddress | Should -Be '0x100a00000'
        $dev.ImageSha256 | Should -Be $imageSha
        $dev.ImageMode | Should -Be 'Static'
        $mount = $rows | Where-Object Kind -eq 'Mount'
        $mount.MountPoint | Should -Be $mp
        $mount.ImageSha256 | Should -Be $imageSha
        $mount.Detail | Should -BeLike 'validation warnings: NLINK-*'
        Should -Invoke ndctl -Times 1 -Exactly
        (Import-Csv "$TestDrive/inv.csv").Count | Should -Be 5
        (Import-Csv "$TestDrive/inv.csv")[4].ImageSha256 | Should -Be $imageSha
        (Get-Content "$TestDrive/inv.json" -Raw | ConvertFrom-Json).Kind | Should -Be $rows.Kind
        Test-Path $h.Work | Should -BeFalse
    }
    It 'reports an empty device as such, not as a problem' {
        $rows = @(& $Inventory -WorkDirectory $h.Work)
        $LASTEXITCODE | Should -Be 0
        ($rows | Where-Object Kind -eq 'DaxDevice').Detail | Should -Be 'no DAXFS image'
    }
    It 'fails with exit code 1 when a mount''s memory was overwritten or holds an unsafe image' {
        Set-PublishedState $tree $mp
        $f = [IO.File]::OpenWrite($h.Node); try { $f.Write([byte[]]::new(4096), 0, 4096) } finally { $f.Dispose() }
        $rows = @(& $Inventory -WorkDirectory $h.Work -WarningAction SilentlyContinue)
        $LASTEXITCODE | Should -Be 1
        $m = $rows | Where-Object Kind -eq 'Mount'
        $m.Severity | Should -Be 'Error'
        $m.Findings | Should -Match 'holds no DAXFS image'

        # basic with inode 18 (/a/five000) zeroed: a dirent names an inode of no type (INODE-TYPE, an error)
        $bytes = [IO.File]::ReadAllBytes((Join-Path $Vectors 'basic.static.daxfs'))
        [Array]::Clear($bytes, 0x2000 + 17 * 64, 64)
        [IO.File]::WriteAllBytes("$TestDrive/unsafe.daxfs", $bytes)
        & (Get-Command Write-DaxFsImage -CommandType Cmdlet) "$TestDrive/unsafe.daxfs" -Device dax0.0 -Force -Confirm:$false
        $rows = @(& $Inventory -WorkDirectory $h.Work -WarningAction SilentlyContinue)
        $LASTEXITCODE | Should -Be 1
        ($rows | Where-Object Kind -eq 'DaxDevice').Severity | Should -Be 'Error'
        ($rows | Where-Object Kind -eq 'Mount').Findings | Should -Match '^[A-Z]+-[A-Z-]+: '
    }
    It 'flags a mount smaller than its image, and -FailOn None keeps exit code 0' {
        $img = New-DaxFsImage $tree (Join-Path $TestDrive "small-$(Get-Random).daxfs")
        & (Get-Command Write-DaxFsImage -CommandType Cmdlet) $img.Path -Device dax0.0 -Confirm:$false
        Add-MountLine $mp daxfs daxfs ('ro,phys=0x{0:x},size=8192,static' -f $DaxPhys) 'ro,relatime'
        $rows = @(& $Inventory -WorkDirectory $h.Work -FailOn None)
        $LASTEXITCODE | Should -Be 0
        $m = $rows | Where-Object Kind -eq 'Mount'
        $m.Severity | Should -Be 'Error'
        $m.Findings | Should -Match 'ImageLargerThanTarget|says it is'
    }
    It 'warns when ndctl is missing' {
        Mock Get-Command { $null } -ParameterFilter { $Name -eq 'ndctl' }
        $rows = @(& $Inventory -WorkDirectory $h.Work -FailOn Warning -WarningAction SilentlyContinue)
        $LASTEXITCODE | Should -Be 1
        $rows[0].Findings | Should -Match 'ndctl is not installed'
    }
}
