# Crash-consistent writes on a real dax device: a Write-DaxFsImage to dax0.0 in another process, killed with SIGKILL at a
# random moment, leaves memory that Mount-DaxFs's gate refuses as IMG-INCOMPLETE-WRITE (never a mix the kernel mounts),
# and a rewrite mounts. While the writer runs, a second Write-DaxFsImage and a Mount-DaxFs on dax0.0 are refused naming
# it (TargetInUse). Boot: devdax (run through Invoke-Integration.ps1).

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
    $script:States = @()
    $script:Pwsh = @([Environment]::ProcessPath)
    if ([IO.Path]::GetFileNameWithoutExtension($Pwsh[0]) -eq 'dotnet') { $script:Pwsh += (Join-Path $PSHOME 'pwsh.dll') }

    function Start-Writer([string] $Image) {
        $psi = [Diagnostics.ProcessStartInfo]::new($Pwsh[0])
        foreach ($a in @($Pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command',
                "Import-Module '$env:DAXFS_MODULE_PATH'; Write-DaxFsImage '$Image' -Device dax0.0 -Confirm:`$false")) { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        [Diagnostics.Process]::Start($psi)
    }

    # What the start of dax0.0 holds now, read through a read-only map (a dax device has no read(2); a map takes no lock).
    function Get-DeviceState {
        try { Get-DaxFsImage /dev/dax0.0 -ErrorAction Stop | Out-Null; 'image' }
        catch { if ($_.FullyQualifiedErrorId -like 'IncompleteWriteAtTarget,*') { 'incomplete' } else { $_.FullyQualifiedErrorId } }
    }

    # Waits until the writer holds its lock on dax0.0 (/proc/locks: cheap to poll, unlike a map under emulation); the
    # marker store follows the lock at once.
    function Wait-Writing([Diagnostics.Process] $Writer) {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        while (-not ((Get-Content /proc/locks) -match " FLOCK +ADVISORY +WRITE +$($Writer.Id) ")) {
            if ($Writer.HasExited) { throw "The writer ended before it was caught (exit $($Writer.ExitCode)): $($Writer.StandardError.ReadToEnd())" }
            if ($clock.Elapsed.TotalSeconds -gt 900) { throw 'The writer did not start within 900 s.' }
            Start-Sleep -Milliseconds 5
        }
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

Describe 'Write-DaxFsImage to dax0.0 killed at a random moment' {
    AfterEach { Clear-Mount $script:Mnt }

    It 'a second writer and a mount are refused naming the writing process' {
        Write-DaxFsImage $Basic -Device dax0.0 -Confirm:$false -ErrorAction Stop
        $w = Start-Writer $Big
        try {
            Wait-Writing $w
            & kill -STOP $w.Id
            $e = { Write-DaxFsImage $Basic -Device dax0.0 -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
            $e.FullyQualifiedErrorId | Should -Be 'TargetInUse,DaxFs.Commands.WriteDaxFsImageCommand'
            $e.Exception.Message | Should -Match "Process $($w.Id) \(.*Write-DaxFsImage.*\) is writing to it"
            $e = { Mount-DaxFs -Device dax0.0 -MountPoint $Mnt -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
            $e.FullyQualifiedErrorId | Should -Be 'TargetInUse,DaxFs.Commands.MountDaxFsCommand'
            @(Get-DaxFsMount | Where-Object MountPoint -eq $Mnt) | Should -BeNullOrEmpty
        }
        finally { & kill -KILL $w.Id; $w.WaitForExit() }
        $script:States += @(Assert-GateAfterKill)
        (Write-DaxFsImage $Basic -Device dax0.0 -PassThru -Confirm:$false -ErrorAction Stop).Verified | Should -BeTrue
        Mount-DaxFs -Device dax0.0 -MountPoint $Mnt -Confirm:$false -ErrorAction Stop | Out-Null
        @(Get-ChildItem -Recurse $Mnt).Count | Should -BeGreaterThan 0
        Dismount-DaxFs $Mnt -Confirm:$false
    }

    It 'round <Round>: the gate refuses what SIGKILL left as IMG-INCOMPLETE-WRITE, and a rewrite mounts' -TestCases @(
        @{ Round = 1 }, @{ Round = 2 }
    ) {
        Write-DaxFsImage $Basic -Device dax0.0 -Confirm:$false -ErrorAction Stop
        $w = Start-Writer $Big
        try {
            Wait-Writing $w
            $delay = Get-Random -Minimum 0 -Maximum 2000
            Start-Sleep -Milliseconds $delay
        }
        finally { & kill -KILL $w.Id; $w.WaitForExit() }
        $state = Assert-GateAfterKill
        Write-Host "Round ${Round}: SIGKILL $delay ms after the writer took its lock left: $state"
        $script:States += @($state)
        (Write-DaxFsImage $Basic -Device dax0.0 -PassThru -Confirm:$false -ErrorAction Stop).Verified | Should -BeTrue
        Mount-DaxFs -Device dax0.0 -MountPoint $Mnt -Confirm:$false -ErrorAction Stop | Out-Null
        try { @(Get-ChildItem -Recurse $Mnt).Count | Should -BeGreaterThan 0 }
        finally { Dismount-DaxFs $Mnt -Confirm:$false }
    }

    It 'round 3: a writer stopped while the marker is in place and then killed leaves IMG-INCOMPLETE-WRITE, and a rewrite mounts' {
        # Deterministic, whatever the speed of the write: the writer runs in slices of 20 ms; between slices it is stopped
        # (SIGSTOP) and the memory is read while nothing changes it. The first time it holds the marker, SIGKILL.
        Write-DaxFsImage $Basic -Device dax0.0 -Confirm:$false -ErrorAction Stop
        $w = Start-Writer $Big
        $state = $null
        try {
            Wait-Writing $w
            while (-not $w.HasExited) {
                & kill -STOP $w.Id
                if ((Get-DeviceState) -eq 'incomplete') { $state = 'incomplete'; break }
                & kill -CONT $w.Id
                Start-Sleep -Milliseconds 20
            }
        }
        finally { & kill -KILL $w.Id 2>$null; $w.WaitForExit() }
        $state | Should -Be 'incomplete' -Because 'the writer is stopped at some slice while its marker is in place (it was not: the write finished first)'
        $after = Assert-GateAfterKill
        $after | Should -Be 'incomplete'
        $script:States += @($after)
        (Write-DaxFsImage $Basic -Device dax0.0 -PassThru -Confirm:$false -ErrorAction Stop).Verified | Should -BeTrue
        Mount-DaxFs -Device dax0.0 -MountPoint $Mnt -Confirm:$false -ErrorAction Stop | Out-Null
        try { @(Get-ChildItem -Recurse $Mnt).Count | Should -BeGreaterThan 0 }
        finally { Dismount-DaxFs $Mnt -Confirm:$false }
    }

    It 'at least one kill landed inside the write' {
        $script:States | Should -Contain 'incomplete'
    }
}
