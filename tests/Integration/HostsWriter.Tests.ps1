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
    It 'leaves the marker when its write is killed half-way, so the other kernels cannot mount it' {
        Wait-Signal 'B-ready' 900
        # The writer in another process under strace, whose first msync(2) (the flush of the marker, the ordered write's
        # first step) returns only after 900 s: the memory holds the marker for as long as the test needs, whatever the
        # speed of the machine (WriteSafety.Tests.ps1 does the same on one kernel). Then it is killed there.
        $pwsh = @([Environment]::ProcessPath)
        if ([IO.Path]::GetFileNameWithoutExtension($pwsh[0]) -eq 'dotnet') { $pwsh += (Join-Path $PSHOME 'pwsh.dll') }
        $command = @('strace', '-f', '--seccomp-bpf', '-qq', '-o', '/dev/null', '-e', 'trace=msync', '-e', 'inject=msync:delay_exit=900000000:when=1', '--') + $pwsh +
            @('-NoProfile', '-NonInteractive', '-Command', "Import-Module '$env:DAXFS_MODULE_PATH'; Write-DaxFsImage '$($Hosts.Image)' -PhysicalAddress $StaticPhys -Size 96MB -Confirm:`$false")
        $psi = [Diagnostics.ProcessStartInfo]::new($command[0])
        foreach ($a in @($command | Select-Object -Skip 1)) { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $writer = [Diagnostics.Process]::Start($psi)
        # The other guests wait for A-stopped: it is sent whatever happens here, so a failure costs them no timeout.
        try {
            try {
                $clock = [Diagnostics.Stopwatch]::StartNew()
                $head = $null
                while (($head = Get-Head $DataOffset) -ne 'DAXFSWIP') {
                    if ($writer.HasExited) { throw "The writer ended before its marker was seen (exit $($writer.ExitCode)): $($writer.StandardError.ReadToEnd())" }
                    if ($clock.Elapsed.TotalSeconds -gt 600) { throw 'No marker in the memory 600 s after the writer started.' }
                    Start-Sleep -Milliseconds 500
                }
                $Measured.MarkerSeenAfterSeconds = [math]::Round($clock.Elapsed.TotalSeconds, 1)
            }
            finally {
                # The writer (strace's child) first, then strace.
                foreach ($child in @(& ps -o pid= --ppid $writer.Id)) { if ("$child".Trim()) { & kill -KILL "$child".Trim() 2>$null } }
                & kill -KILL $writer.Id 2>$null
                $writer.WaitForExit()
            }
            $head | Should -Be 'DAXFSWIP'
            Get-Head $DataOffset | Should -Be 'DAXFSWIP' -Because 'the killed write leaves its marker in the memory'
            { Mount-DaxFs -PhysicalAddress $StaticPhys -Size $Hosts.ImageSize -MountPoint $Mnt -Confirm:$false -ErrorAction Stop } |
                Should -Throw -ErrorId 'ImageFailsValidation,DaxFs.Commands.MountDaxFsCommand'
        }
        finally { Send-Signal 'A-stopped' }
        Wait-Signal 'B-refused-stopped'
        Wait-Signal 'C-refused-stopped'
    }
    It 'writes the image while the other kernel keeps trying to mount the memory' {
        Send-Signal 'A-writing'
        Wait-Signal 'B-looping'
        try { $w = Write-DaxFsImage $Hosts.Image -PhysicalAddress $StaticPhys -Size 96MB -PassThru -Confirm:$false }
        finally { Send-Signal 'A-written' }
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
