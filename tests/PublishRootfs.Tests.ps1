# docs/runbooks/Publish-DaxFsRootfs.ps1 to a dax device and to a dma-buf, on the runbook host (RunbookHost.ps1).
BeforeAll { . (Join-Path $PSScriptRoot 'RunbookHost.ps1') }
AfterAll { Reset-RunbookHost }

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
    It 'publishes a container base image from a tarball or an OCI layout, keeping the owners its headers give' {
        $tar = Join-Path $TestDrive "rootfs-$(Get-Random).tar"
        tar --owner=1234 --group=5678 -C $tree -cf $tar .
        $r = & $Publish -Path $tar -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false
        $r.Status | Should -Be 'Published' -Because "$($r.Error)"
        $r.FilesVerified | Should -Be 5
        $r.Mismatches | Should -BeNullOrEmpty
        (Get-DaxFsItem "$($h.Work)/rootfs.daxfs" -Path /etc/motd).Uid | Should -Be 1234
        $busybox = @('/bin/busybox', '/usr/bin/busybox') | Where-Object { Test-Path $_ } | Select-Object -First 1
        if (-not ($busybox -and (Get-Command python3, zstd -CommandType Application -ErrorAction Ignore).Count -eq 2)) { return }
        $oci = Join-Path $TestDrive "oci-$(Get-Random)"
        & python3 (Join-Path $PSScriptRoot 'fixtures/make-oci-layout.py') $oci $busybox
        $r = & $Publish -Path "$oci/layout" -Reference multi -Platform linux/arm64 -Device dax0.0 -MountPoint $mp -WorkDirectory $h.Work -Confirm:$false
        $r.Status | Should -Be 'Published' -Because "$($r.Error)"
        $r.FilesVerified | Should -Be 1
        Get-Content "$mp/arch" | Should -Be 'arm64'
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
