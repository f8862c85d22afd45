# docs/runbooks/Publish-DaxFsImageToFleet.ps1 without hosts: PowerShell remoting is mocked. Invoke-Command runs the
# runbook's own host script block here, once per fake session, each "host" with its own mount table (DAXFS_MOUNTINFO)
# over one shared memory (the fake dax0.0 of RunbookHost.ps1, which every host maps). The mount cmdlets are mocked
# per host; Write-DaxFsImage, Get-DaxFsMount and Get-DaxDevice are the real ones over the fake host.
BeforeAll {
    . (Join-Path $PSScriptRoot 'RunbookHost.ps1')
    $script:Fleet = Join-Path $Runbooks 'Publish-DaxFsImageToFleet.ps1'

    # A fake PSSession: what the runbook reads of one (InstanceId, Name, ComputerName, State).
    function New-FakeSession([string] $Name, [string] $State = 'Opened') {
        $s = [pscustomobject]@{ InstanceId = [guid]::NewGuid(); Name = $Name; ComputerName = '127.0.0.1'; State = $State; Id = Get-Random }
        $s.PSTypeNames.Insert(0, 'System.Management.Automation.Runspaces.PSSession')
        $global:FleetHosts[$s.InstanceId] = @{ Name = $Name; MountInfo = Join-Path $h.Root "mountinfo.$Name"; Fail = @{} }
        Set-Content $global:FleetHosts[$s.InstanceId].MountInfo '' -NoNewline
        $s
    }

    # Remoting and the mount cmdlets, per fake host. Fail.<Step> = 'unreachable' drops the host's answer and writes a
    # transport error, as Invoke-Command does for a broken connection; Fail.Mount = 'refuse' makes Mount-DaxFs fail;
    # Fail.Mount = 'corrupt' shows a changed /etc/motd through the mount.
    function Use-FakeFleet {
        Mock Invoke-Command -RemoveParameterType Session {
            foreach ($s in $Session) {
                $fh = $global:FleetHosts[$s.InstanceId]
                $step = if ($ArgumentList.Count -eq 1) { 'Inventory' } else { $ArgumentList[0] }
                $global:RunbookCalls.Add("Invoke-Command $($fh.Name) $step")
                if ($fh.Fail[$step] -eq 'unreachable') {
                    Write-Error -Message "[$($fh.Name)] The SSH transport process has abruptly terminated causing this remote session to break." -TargetObject $s -ErrorId 'PSSessionStateBroken'
                    continue
                }
                $global:FleetCurrent = $fh
                $env:DAXFS_MOUNTINFO = $fh.MountInfo
                try { $o = & $ScriptBlock @ArgumentList } finally { $env:DAXFS_MOUNTINFO = $h.MountInfo }
                $o | Add-Member -NotePropertyName RunspaceId -NotePropertyValue $s.InstanceId -PassThru | Add-Member -NotePropertyName PSComputerName -NotePropertyValue $s.ComputerName -PassThru
            }
        }
        Mock Mount-DaxFs {
            $fh = $global:FleetCurrent
            $global:RunbookCalls.Add("Mount-DaxFs $($fh.Name) -Device $Device $MountPoint")
            if ($fh.Fail['Mount'] -eq 'refuse') { throw [System.Management.Automation.ErrorRecord]::new([IO.IOException]::new('mount(2) failed: Invalid argument (EINVAL); dmesg: daxfs: invalid magic'), 'MountFailed', 'InvalidOperation', $MountPoint) }
            Clear-Directory $MountPoint
            $copy = Join-Path $TestDrive ('mounted-' + [guid]::NewGuid().ToString('n') + '.daxfs')
            Save-DaxFsImage -Device $Device -Destination $copy | Out-Null
            Export-DaxFsItem -Image $copy -Destination $MountPoint | Out-Null
            if ($fh.Fail['Mount'] -eq 'corrupt') { Set-Content (Join-Path $MountPoint 'etc/motd') 'welcomE' }
            Add-MountLine $MountPoint daxfs $Device ('ro,phys=0x{0:x},size={1},static' -f $DaxPhys, $DaxSize) 'ro,relatime'
        }
        Mock Dismount-DaxFs { $global:RunbookCalls.Add("Dismount-DaxFs $($global:FleetCurrent.Name) $MountPoint"); Remove-MountLine $MountPoint }
        Mock Write-DaxFsImage {
            $global:RunbookCalls.Add("Write-DaxFsImage $($global:FleetCurrent.Name) $(Split-Path -Leaf $Image.Path) -Device $Device")
            & (Get-Command Write-DaxFsImage -CommandType Cmdlet) -Image $Image -Device $Device -PassThru:$PassThru -Confirm:$false -ErrorAction Stop
        }
    }

    function Invoke-Fleet([object[]] $Sessions, [hashtable] $More = @{}) {
        & $Fleet -Image $script:Img -Session $Sessions -Device dax0.0 -MountPoint $h.Mnt -ModulePath $ModulePath -Confirm:$false @More -ErrorAction SilentlyContinue -ErrorVariable ev
        $global:FleetErrors = @($ev | ForEach-Object { "$_" })
    }
}
AfterAll { Reset-RunbookHost; Remove-Variable -Scope Global -Name FleetHosts, FleetCurrent, FleetErrors -ErrorAction Ignore }

Describe 'Publish-DaxFsImageToFleet.ps1' {
    BeforeEach {
        $h = New-FakeHost
        $global:FleetHosts = @{}
        $script:Img = (New-DaxFsImage (New-RootTree "tree-$(Get-Random)") (Join-Path $TestDrive "fleet-$(Get-Random).daxfs") -Owner Root).Path
        $script:Sha = (Get-FileHash $Img -Algorithm SHA256).Hash
        $global:FleetErrors = @()
        $script:hosts = 'node1', 'node2', 'node3' | ForEach-Object { New-FakeSession $_ }
        Use-FakeFleet
    }

    It 'writes once, mounts and verifies on every host, one result per host' {
        $r = Invoke-Fleet $hosts
        $FleetErrors | Should -BeNullOrEmpty
        $r | Should -HaveCount 3
        $r[0].PSTypeNames[0] | Should -Be 'DaxFs.Runbook.FleetHostResult'
        $r.Host | Should -Be 'node1', 'node2', 'node3'
        $r.Status | Should -Be 'Published', 'Published', 'Published'
        $r.Role | Should -Be 'Writer', 'Reader', 'Reader'
        $r | ForEach-Object { $_.FilesVerified | Should -Be 5; $_.ImageSha256 | Should -Be $Sha; $_.Mismatches | Should -BeNullOrEmpty }
        @($RunbookCalls | Where-Object { $_ -like 'Write-DaxFsImage*' }) | Should -Be @("Write-DaxFsImage node1 $(Split-Path -Leaf $Img) -Device dax0.0")
        @($RunbookCalls | Where-Object { $_ -like 'Mount-DaxFs*' }).Count | Should -Be 3
        # the writer held the image at the same path (a shared folder): nothing copied
        $RunbookCalls | Should -Not -Contain 'Copy-Item -ToSession node1'
        Get-DeviceSha (Get-Item $Img).Length | Should -Be $Sha
    }
    It 'writes on -Writer' {
        $r = Invoke-Fleet $hosts @{ Writer = $hosts[1] }
        ($r | Where-Object Role -eq 'Writer').Host | Should -Be 'node2'
        @($RunbookCalls | Where-Object { $_ -like 'Write-DaxFsImage*' }) | Should -Be @("Write-DaxFsImage node2 $(Split-Path -Leaf $Img) -Device dax0.0")
    }
    It 'writes nothing when a host cannot be reached (a broken session)' {
        $broken = New-FakeSession 'node4' -State 'Broken'
        $r = Invoke-Fleet (@($hosts) + $broken)
        ($r | Where-Object Host -eq 'node4').Status | Should -Be 'Unreachable'
        ($r | Where-Object Host -eq 'node4').Error | Should -Match 'node4 cannot be reached \(session Broken\)'
        ($r | Where-Object Host -ne 'node4').Status | Should -Be 'NotStarted', 'NotStarted', 'NotStarted'
        $FleetErrors[-1] | Should -Match '^Nothing was written'
        $RunbookCalls | Should -Not -Contain "Write-DaxFsImage node1 $(Split-Path -Leaf $Img) -Device dax0.0"
    }
    It 'writes nothing when a host does not answer the check (transport error)' {
        $global:FleetHosts[$hosts[2].InstanceId].Fail.Inspect = 'unreachable'
        $r = Invoke-Fleet $hosts
        $r[2].Status | Should -Be 'Unreachable'
        $r[2].Error | Should -Match 'abruptly terminated'
        @($RunbookCalls | Where-Object { $_ -like 'Write-DaxFsImage*' }) | Should -BeNullOrEmpty
    }
    It 'dismounts everywhere it mounted when a host drops out during the mount (and tries the silent host too)' {
        $global:FleetHosts[$hosts[1].InstanceId].Fail.Mount = 'unreachable'
        $r = Invoke-Fleet $hosts
        $r.Status | Should -Be 'RolledBack', 'Unreachable', 'RolledBack'
        # the session still answers: the host may have mounted before its answer was lost, so it is dismounted as well
        @($RunbookCalls | Where-Object { $_ -like 'Dismount-DaxFs*' }) | Should -Be @("Dismount-DaxFs node1 $($h.Mnt)", "Dismount-DaxFs node2 $($h.Mnt)", "Dismount-DaxFs node3 $($h.Mnt)")
        $FleetErrors[-1] | Should -Match 'failed on node2 \(Unreachable\); it was dismounted on every other host'
    }
    It 'dismounts everywhere it mounted when a mount is refused, naming the reason' {
        $global:FleetHosts[$hosts[1].InstanceId].Fail.Mount = 'refuse'
        $r = Invoke-Fleet $hosts
        $r.Status | Should -Be 'RolledBack', 'Failed', 'RolledBack'
        $r[1].Error | Should -Match 'mounting on node2 failed: mount\(2\) failed: Invalid argument'
        @($RunbookCalls | Where-Object { $_ -like 'Dismount-DaxFs*' }) | Should -Be @("Dismount-DaxFs node1 $($h.Mnt)", "Dismount-DaxFs node3 $($h.Mnt)")
        foreach ($fh in $global:FleetHosts.Values) { @(Get-Content $fh.MountInfo | Where-Object { $_ }) | Should -BeNullOrEmpty }
    }
    It 'dismounts everywhere, the mismatching host included, when a mount does not show the image' {
        $global:FleetHosts[$hosts[2].InstanceId].Fail.Mount = 'corrupt'
        $r = Invoke-Fleet $hosts
        $r.Status | Should -Be 'RolledBack', 'RolledBack', 'Failed'
        $r[2].Mismatches | Should -Be @('content differs: /etc/motd')
        $r[2].Error | Should -Match 'node3 does not show the image'
        @($RunbookCalls | Where-Object { $_ -like 'Dismount-DaxFs*' }).Count | Should -Be 3
    }
    It 'refuses, before writing, when a host has the memory mounted' {
        Add-Content $global:FleetHosts[$hosts[1].InstanceId].MountInfo ("70 27 0:70 / /mnt/old ro,relatime - daxfs dax0.0 ro,phys=0x{0:x},size={1},static" -f $DaxPhys, $DaxSize)
        $r = Invoke-Fleet $hosts
        $r[1].Status | Should -Be 'Busy'
        $r[1].Error | Should -Match 'node2 has /mnt/old \(dax0.0\) mounted: dismount it there first'
        @($RunbookCalls | Where-Object { $_ -like 'Write-DaxFsImage*' -or $_ -like 'Mount-DaxFs*' }) | Should -BeNullOrEmpty
    }
    It 'mounts nothing when the write is refused (memory whose branching image other kernels have mounted)' {
        $bytes = [IO.File]::ReadAllBytes((Join-Path $PSScriptRoot 'fixtures/branches/feature.daxfs'))
        $f = [IO.File]::OpenWrite($h.Node); try { $f.Write($bytes, 0, $bytes.Length) } finally { $f.Dispose() }
        $r = Invoke-Fleet $hosts
        $r[0].Status | Should -Be 'Failed'
        $r[0].Error | Should -Match 'writing failed: .*active branch: feature'
        $r[1..2].Status | Should -Be 'NotStarted', 'NotStarted'
        @($RunbookCalls | Where-Object { $_ -like 'Mount-DaxFs*' }) | Should -BeNullOrEmpty
    }
    It 'checks every host and writes nothing under -WhatIf' {
        $r = Invoke-Fleet $hosts @{ WhatIf = $true }
        $r | Should -BeNullOrEmpty
        @($RunbookCalls | Where-Object { $_ -like 'Invoke-Command*' }) | Should -Be @('Invoke-Command node1 Inspect', 'Invoke-Command node2 Inspect', 'Invoke-Command node3 Inspect')
    }
}

Describe 'Get-DaxFsFleetInventory.ps1' {
    BeforeEach {
        $h = New-FakeHost
        $global:FleetHosts = @{}
        $script:Inventory = Join-Path $Runbooks 'Get-DaxFsFleetInventory.ps1'
        $script:Img = (New-DaxFsImage (New-RootTree "tree-$(Get-Random)") (Join-Path $TestDrive "inv-$(Get-Random).daxfs") -Owner Root).Path
        $script:Other = (New-DaxFsImage (New-RootTree "tree-$(Get-Random)" 'other motd') (Join-Path $TestDrive "other-$(Get-Random).daxfs") -Owner Root).Path
        & (Get-Command Write-DaxFsImage -CommandType Cmdlet) $Img -Device dax0.0 -Confirm:$false
        Add-FakeDaxDevice $h.Root 'dax2.0' (64MB) 0x200000000 -Mappings @(, @(0x200000000, 0x203ffffff))
        & (Get-Command Write-DaxFsImage -CommandType Cmdlet) $Other -Device dax2.0 -Confirm:$false
        $script:hosts = 'node1', 'node2', 'node3' | ForEach-Object { New-FakeSession $_ }
        function Set-HostMount([int] $Index, [long] $Phys, [long] $Size, [string] $MountPoint = '/mnt/pool') {
            Add-Content $global:FleetHosts[$hosts[$Index].InstanceId].MountInfo ("70 27 0:70 / $MountPoint ro,relatime - daxfs none ro,phys=0x{0:x},size={1},static" -f $Phys, $Size)
        }
        Use-FakeFleet
    }

    It 'names the image every host has mounted, and that they agree' {
        0..2 | ForEach-Object { Set-HostMount $_ $DaxPhys $DaxSize }
        $r = @(& $Inventory -Session $hosts -Image $Img -ModulePath $ModulePath)
        $r | Should -HaveCount 3
        $r[0].PSTypeNames[0] | Should -Be 'DaxFs.Runbook.FleetMount'
        $r.Host | Should -Be 'node1', 'node2', 'node3'
        $r.Status | Should -Be 'Mounted', 'Mounted', 'Mounted'
        $r.ImageName | Should -Be (@(Split-Path -Leaf $Img) * 3)
        $r.Sha256 | Should -Be (@((Get-FileHash $Img -Algorithm SHA256).Hash) * 3)
        $r.Format | Should -Be 5, 5, 5
        $r.Mode | Should -Be 'Static', 'Static', 'Static'
        $r.Agrees | Should -Be $true, $true, $true
    }
    It 'shows the host that has another image at the mount point, and the host that has none' {
        Set-HostMount 0 $DaxPhys $DaxSize
        Set-HostMount 1 $DaxPhys $DaxSize
        Set-HostMount 2 0x200000000 (64MB)
        Set-HostMount 0 $DaxPhys $DaxSize '/mnt/extra'
        $r = @(& $Inventory -Session $hosts -Image $Img, $Other -ModulePath $ModulePath)
        $odd = $r | Where-Object { $_.Host -eq 'node3' -and $_.MountPoint -eq '/mnt/pool' }
        $odd.Agrees | Should -BeFalse
        $odd.ImageName | Should -Be (Split-Path -Leaf $Other)
        $odd.Note | Should -Be 'differs from 2 of 3 host(s) at /mnt/pool'
        ($r | Where-Object { $_.MountPoint -eq '/mnt/pool' -and $_.Host -ne 'node3' }).Agrees | Should -Be $true, $true
        $missing = @($r | Where-Object Status -eq 'NotMounted')
        $missing.Host | Should -Be 'node2', 'node3'
        $missing.MountPoint | Should -Be '/mnt/extra', '/mnt/extra'
        $missing.Agrees | Should -Be $false, $false
    }
    It 'lists nothing but a reachable host without daxfs mounts' {
        $r = @(& $Inventory -Session $hosts -ModulePath $ModulePath)
        $r | Should -BeNullOrEmpty
        Set-HostMount 0 $DaxPhys $DaxSize
        $r = @(& $Inventory -Session $hosts -ModulePath $ModulePath)
        $r.Host | Should -Be 'node1', 'node2', 'node3'
        $r.Status | Should -Be 'Mounted', 'NotMounted', 'NotMounted'
    }
    It 'lists a host it cannot reach as Unreachable and goes on' {
        Set-HostMount 0 $DaxPhys $DaxSize
        $global:FleetHosts[$hosts[1].InstanceId].Fail.Inventory = 'unreachable'
        $r = @(& $Inventory -Session $hosts -ModulePath $ModulePath)
        ($r | Where-Object Host -eq 'node2').Status | Should -Be 'Unreachable'
        ($r | Where-Object Host -eq 'node2').Error | Should -Match 'abruptly terminated'
        ($r | Where-Object Host -eq 'node1').Status | Should -Be 'Mounted'
    }
    It 'lists the branches of a branching image and compares such images by their base' {
        $bytes = [IO.File]::ReadAllBytes((Join-Path $PSScriptRoot 'fixtures/branches/feature.daxfs'))
        $f = [IO.File]::OpenWrite($h.Node); try { $f.Write($bytes, 0, $bytes.Length) } finally { $f.Dispose() }
        0..1 | ForEach-Object { Set-HostMount $_ $DaxPhys $bytes.Length }
        $r = @(& $Inventory -Session $hosts[0..1] -ModulePath $ModulePath)
        $r.Mode | Should -Be 'Branching', 'Branching'
        $r[0].Branches | Should -Be 'main:Active', 'feature:Active'
        $r[0].BaseSha256 | Should -Not -BeNullOrEmpty
        $r.Agrees | Should -Be $true, $true
    }
}
