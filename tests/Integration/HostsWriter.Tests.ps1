# Guest A of the hosts boot (see Hosts.Common.ps1): writes the image once into the shared memory while the other kernel
# tries to mount it, mounts it itself; then writes a branching image there and makes and commits one of two sibling
# branches of it.

BeforeAll {
    . $PSScriptRoot/Hosts.Common.ps1
    $script:DataOffset = Get-DataOffset
    $script:StaticPhys = $Phys + $DataOffset
    $script:Mnt = New-MountPoint 'hosts-a'
    $script:Main = New-MountPoint 'hosts-a-main'
    $script:Br = New-MountPoint 'hosts-a-branch'
    Send-Signal 'A-ready'
}
AfterAll { Save-Measured 'A' }

Describe 'Publishing into memory another kernel shares (writer)' {
    It 'leaves the marker when its write is stopped half-way, so the other kernel cannot mount it' {
        Wait-Signal 'B-ready' 900
        # The write in a runspace of this process, stopped (as Ctrl+C stops it) once the memory holds the marker.
        $ps = [powershell]::Create().AddScript({
                param($Module, $Image, $Phys)
                Import-Module $Module
                Write-DaxFsImage $Image -PhysicalAddress $Phys -Size 96MB -Confirm:$false
            }).AddArgument($env:DAXFS_MODULE_PATH).AddArgument($Hosts.Image).AddArgument($StaticPhys)
        $run = $ps.BeginInvoke()
        # Polled in this process through /dev/pmem0's page cache, which the writer's map shares (a dd per poll is too slow
        # under emulation to catch a 40 MiB write).
        $head = [byte[]]::new(8)
        $seen = $false
        while (-not $run.IsCompleted) {
            $f = [IO.File]::Open('/dev/pmem0', 'Open', 'Read', 'ReadWrite')
            try { $f.Position = [long]$DataOffset; $f.ReadExactly($head) } finally { $f.Dispose() }
            if ([Text.Encoding]::ASCII.GetString($head) -eq 'DAXFSWIP') { $seen = $true; break }
        }
        $ps.Stop()
        $ps.Dispose()
        $Measured.StoppedWriteSawMarker = $seen
        $seen | Should -BeTrue -Because 'the write should still run when the marker is stored (a 40 MiB image)'
        Get-Head $DataOffset | Should -Be 'DAXFSWIP'
        Send-Signal 'A-stopped'
        Wait-Signal 'B-refused-stopped'
        Wait-Signal 'C-refused-stopped'
    }
    It 'writes the image while the other kernel keeps trying to mount the memory' {
        Send-Signal 'A-writing'
        Wait-Signal 'B-looping'
        $w = Write-DaxFsImage $Hosts.Image -PhysicalAddress $StaticPhys -Size 96MB -PassThru -Confirm:$false
        Send-Signal 'A-written'
        $Measured.WriteSeconds = [math]::Round($w.Elapsed.TotalSeconds, 2)
        $w.Sha256 | Should -Be $Hosts.ImageSha256.ToLowerInvariant()
    }
    It 'mounts the same bytes and reads every file identical to the source' {
        Mount-DaxFs -PhysicalAddress $StaticPhys -Size $Hosts.ImageSize -MountPoint $Mnt -Confirm:$false | Out-Null
        try { Compare-Tree $Mnt | Should -BeNullOrEmpty }
        finally { Dismount-DaxFs -MountPoint $Mnt -Confirm:$false }
        Send-Signal 'A-read'
    }
}

Describe 'Sibling branches made by two kernels (writer)' {
    It 'writes a branching image over the static one once no kernel mounts it' {
        Wait-Signal 'B-read'
        Wait-Signal 'C-read'
        Wait-Signal 'host-read-static'
        $w = Write-DaxFsImage $Hosts.Branching -PhysicalAddress $StaticPhys -Size 32MB -PassThru -Confirm:$false
        $w.Sha256 | Should -Be $Hosts.BranchSha256.ToLowerInvariant()
        Send-Signal 'A-wrote-branching'
    }
    It 'makes brA beside the other kernel''s brB and writes in it' {
        Invoke-Tool mount @('-t', 'daxfs', '-o', ("phys=0x{0:x},size={1}" -f $StaticPhys, $Hosts.BranchSize), 'none', $Main) | Out-Null
        Send-Signal 'A-main'
        Wait-Signal 'B-main'
        New-DaxFsBranch -Name brA -Parent $Main -MountPoint $Br -Confirm:$false | Out-Null
        Set-Content (Join-Path $Br 'new-A.txt') 'written by A'
        Set-Content (Join-Path $Br 'f1.txt') 'changed by A'
        Send-Signal 'A-branched'
        Wait-Signal 'B-branched'
        (Get-DaxFsBranch $Main | Where-Object State -eq 'Active').Name | Should -Be 'main', 'brA', 'brB' -Because 'each kernel sees the other''s branch in the shared table'
    }
    It 'commits brA after the host read both branches offline' {
        Wait-Signal 'host-read-branches'
        Complete-DaxFsBranch -MountPoint $Br -Confirm:$false | Out-Null
        Send-Signal 'A-committed'
        (Get-Content (Join-Path $Br 'f1.txt')) | Should -Be 'changed by A' -Because 'the committing mount shows main with the commit'
        Wait-Signal 'B-branches-done'
        Dismount-DaxFs -MountPoint $Br, $Main -Confirm:$false
    }
}
