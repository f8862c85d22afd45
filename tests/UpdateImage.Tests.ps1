# docs/runbooks/Update-DaxFsImage.ps1 on the runbook host (RunbookHost.ps1).
BeforeAll { . (Join-Path $PSScriptRoot 'RunbookHost.ps1') }
AfterAll { Reset-RunbookHost }

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
