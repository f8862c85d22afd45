# Crash-consistent writes on a real dax device: a Write-DaxFsImage to dax0.0 in another process, killed with SIGKILL
# while its marker is in place (held there by strace's syscall delay, deterministically) or at a random moment, leaves
# memory that Mount-DaxFs's gate refuses as IMG-INCOMPLETE-WRITE or a whole image (never a mix the kernel mounts), and a
# rewrite mounts. While the writer runs, a second Write-DaxFsImage and a Mount-DaxFs on dax0.0 are refused naming it
# (TargetInUse). Boot: devdax (run through Invoke-Integration.ps1).

BeforeAll {
    . $PSScriptRoot/Guest.Common.ps1
    $script:Mnt = New-MountPoint 'write-safety'
    $script:Local = New-MountPoint 'write-safety-images'
    $script:Basic = Join-Path $Local 'basic.static.daxfs'
    if (-not (Test-Path -LiteralPath $Basic)) { [IO.File]::Copy((Get-TestImage 'basic.static').Image, $Basic) }
    # A 320 MiB image (of the 512 MiB device; random bytes do not compress away): its write takes long enough to be
    # caught under emulation.
    $src = Join-Path $Local 'big-src'
    New-Item -ItemType Directory -Force $src | Out-Null
    & head -c (320 * 1024 * 1024) /dev/urandom > (Join-Path $src 'big.bin')
    $script:Big = (New-DaxFsImage $src -Destination (Join-Path $Local 'big.daxfs') -Force).Path
    Remove-Item -Recurse -Force $src
    $script:Pwsh = @([Environment]::ProcessPath)
    if ([IO.Path]::GetFileNameWithoutExtension($Pwsh[0]) -eq 'dotnet') { $script:Pwsh += (Join-Path $PSHOME 'pwsh.dll') }

    # A writer in another process. -HoldAtMarker starts it under strace, which makes its first msync(2) return only after
    # 900 s: that msync is the flush of the marker, the ordered write's first step (Operations/DaxMemoryWriter), so the
    # writer then holds its lock with the marker in place for as long as the test needs, whatever the speed of the
    # machine (random kill times were caught outside the write on a fast machine and on a loaded one).
    function Start-Writer([string] $Image, [switch] $HoldAtMarker) {
        $command = @($Pwsh) + @('-NoProfile', '-NonInteractive', '-Command',
            "Import-Module '$env:DAXFS_MODULE_PATH'; Write-DaxFsImage '$Image' -Device dax0.0 -Confirm:`$false")
        if ($HoldAtMarker) {
            $command = @('strace', '-f', '--seccomp-bpf', '-qq', '-o', '/dev/null', '-e', 'trace=msync', '-e', 'inject=msync:delay_exit=900000000:when=1', '--') + $command
        }
        $psi = [Diagnostics.ProcessStartInfo]::new($command[0])
        foreach ($a in @($command | Select-Object -Skip 1)) { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        [Diagnostics.Process]::Start($psi)
    }

    # What the start of dax0.0 holds now, read through a read-only map (a dax device has no read(2); a map takes no lock).
    function Get-DeviceState {
        try { Get-DaxFsImage /dev/dax0.0 -ErrorAction Stop | Out-Null; 'image' }
        catch { if ($_.FullyQualifiedErrorId -like 'IncompleteWriteAtTarget,*') { 'incomplete' } else { $_.FullyQualifiedErrorId } }
    }

    # Waits until a process holds the writer's exclusive flock on dax0.0 itself (/proc/locks names the node's inode; the
    # runtime takes flocks of its own on other files while it starts) and returns that process's id. The marker store
    # follows the lock at once.
    function Wait-Writing([Diagnostics.Process] $Started) {
        $inode = (& stat -c %i /dev/dax0.0).Trim()
        $clock = [Diagnostics.Stopwatch]::StartNew()
        while ($true) {
            foreach ($line in Get-Content /proc/locks) {
                if ($line -match " FLOCK +ADVISORY +WRITE +(\d+) +[0-9a-f]+:[0-9a-f]+:$inode ") { return [int]$Matches[1] }
            }
            if ($Started.HasExited) { throw "The writer ended before it was caught (exit $($Started.ExitCode)): $($Started.StandardError.ReadToEnd())" }
            if ($clock.Elapsed.TotalSeconds -gt 900) { throw 'The writer did not start within 900 s.' }
            Start-Sleep -Milliseconds 5
        }
    }

    # Waits until the memory holds the marker of the writer held at its first msync; returns the writer's pid.
    function Wait-HeldAtMarker([Diagnostics.Process] $Started) {
        $writer = Wait-Writing $Started
        $clock = [Diagnostics.Stopwatch]::StartNew()
        while ((Get-DeviceState) -ne 'incomplete') {
            if ($Started.HasExited) { throw "The writer ended before its marker was seen (exit $($Started.ExitCode)): $($Started.StandardError.ReadToEnd())" }
            if ($clock.Elapsed.TotalSeconds -gt 300) { throw "The writer ($writer) took its lock but no marker appeared within 300 s: is its first msync(2) no longer the marker's flush?" }
            Start-Sleep -Milliseconds 250
        }
        $writer
    }

    function Stop-Writer([Diagnostics.Process] $Started, [int] $Writer) {
        if ($Writer) { & kill -KILL $Writer 2>$null }
        & kill -KILL $Started.Id 2>$null
        $Started.WaitForExit()
    }

    # After a kill: what the gate says must match what the memory holds. Returns the state.
    function Assert-GateAfterKill {
        $state = Get-DeviceState
        if ($state -eq 'incomplete') {
            $e = { Mount-DaxFs -Device dax0.0 -MountPoint $Mnt -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
            $e.FullyQualifiedErrorId | Should -Be 'ImageFailsValidation,DaxFs.Commands.MountDaxFsCommand'
            $e.Exception.Message | Should -Match 'IMG-INCOMPLETE-WRITE'
            @($e.Exception.Data['Findings']).RuleId | Should -Contain 'IMG-INCOMPLETE-WRITE'
            @(Get-DaxFsMount | Where-Object MountPoint -eq $Mnt) | Should -BeNullOrEmpty
        }
        else {
            # Stopped before the marker (the old image) or after the new superblock (verifying): a whole image either way.
            $state | Should -Be 'image'
            Mount-DaxFs -Device dax0.0 -MountPoint $Mnt -Confirm:$false -ErrorAction Stop | Out-Null
            Dismount-DaxFs $Mnt -Confirm:$false
        }
        $state
    }
}

AfterAll { Clear-Mount $script:Mnt }

Describe 'Write-DaxFsImage to dax0.0 killed inside the write' {
    AfterEach { Clear-Mount $script:Mnt }

    It 'while the marker is in place a second writer and a mount are refused naming the writer; SIGKILL then leaves IMG-INCOMPLETE-WRITE, and a rewrite mounts' {
        Write-DaxFsImage $Basic -Device dax0.0 -Confirm:$false -ErrorAction Stop
        $w = Start-Writer $Big -HoldAtMarker
        $writer = 0
        try {
            $writer = Wait-HeldAtMarker $w
            $e = { Write-DaxFsImage $Basic -Device dax0.0 -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
            $e.FullyQualifiedErrorId | Should -Be 'TargetInUse,DaxFs.Commands.WriteDaxFsImageCommand'
            $e.Exception.Message | Should -Match "Process $writer \(.*Write-DaxFsImage.*\) is writing to it"
            $e = { Mount-DaxFs -Device dax0.0 -MountPoint $Mnt -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
            $e.FullyQualifiedErrorId | Should -Be 'TargetInUse,DaxFs.Commands.MountDaxFsCommand'
            @(Get-DaxFsMount | Where-Object MountPoint -eq $Mnt) | Should -BeNullOrEmpty
        }
        finally { Stop-Writer $w $writer }
        Assert-GateAfterKill | Should -Be 'incomplete'
        (Write-DaxFsImage $Basic -Device dax0.0 -PassThru -Confirm:$false -ErrorAction Stop).Verified | Should -BeTrue
        Mount-DaxFs -Device dax0.0 -MountPoint $Mnt -Confirm:$false -ErrorAction Stop | Out-Null
        try { @(Get-ChildItem -Recurse $Mnt).Count | Should -BeGreaterThan 0 }
        finally { Dismount-DaxFs $Mnt -Confirm:$false }
    }

    It 'SIGKILL at a random moment after the writer took its lock leaves a whole image or IMG-INCOMPLETE-WRITE, never a mountable mix' {
        Write-DaxFsImage $Basic -Device dax0.0 -Confirm:$false -ErrorAction Stop
        $w = Start-Writer $Big
        $writer = 0
        try {
            $writer = Wait-Writing $w
            $delay = Get-Random -Minimum 0 -Maximum 2000
            Start-Sleep -Milliseconds $delay
        }
        finally { Stop-Writer $w $writer }
        $state = Assert-GateAfterKill
        Write-Host "SIGKILL $delay ms after the writer took its lock left: $state"
        (Write-DaxFsImage $Basic -Device dax0.0 -PassThru -Confirm:$false -ErrorAction Stop).Verified | Should -BeTrue
        Mount-DaxFs -Device dax0.0 -MountPoint $Mnt -Confirm:$false -ErrorAction Stop | Out-Null
        try { @(Get-ChildItem -Recurse $Mnt).Count | Should -BeGreaterThan 0 }
        finally { Dismount-DaxFs $Mnt -Confirm:$false }
    }
}
