# docs/runbooks/Add-DaxFsContainerView.ps1 and Remove-DaxFsContainerView.ps1 on the runbook host (RunbookHost.ps1).
BeforeAll { . (Join-Path $PSScriptRoot 'RunbookHost.ps1') }
AfterAll { Reset-RunbookHost }

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
    It 'takes a format-8 overlay mount (read-write, the mount whose programs run) as the lower layer, with a warning' {
        Add-MountLine $mp daxfs none ('rw,relatime,phys=0x{0:x},size={1},overlay' -f $DaxPhys, $DaxSize)
        $v = @(& $AddView -Name c1 -MountPoint $mp -ViewRoot $views -Confirm:$false -WarningVariable warned -WarningAction SilentlyContinue)
        $v.State | Should -Be 'Created'
        "$warned" | Should -BeLike "*$mp is a format-8 overlay mount*write nothing to it directly*"
        $RunbookCalls[-1] | Should -Be "mount -t overlay -o lowerdir=$mp,upperdir=$views/c1/rw/upper,workdir=$views/c1/rw/work overlay-c1 $views/c1/root"
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
