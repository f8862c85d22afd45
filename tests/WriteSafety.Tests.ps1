# Writes that survive kills, signals and a second operator, with real child processes: Write-DaxFsImage killed at a
# random moment (SIGKILL) leaves a target the gate refuses as IMG-INCOMPLETE-WRITE and a rewrite mounts; a second
# Write-DaxFsImage, Mount-DaxFs or Save-DaxFsImage on a target another process is writing is refused naming that
# process; SIGTERM and SIGHUP clean up as Ctrl+C does; a build's stale temporary file is removed by the next build.
# The device is a fake host's dax0.0 (a sparse file under DAXFS_DEV_ROOT): the same mmap/msync path as /dev/dax0.0.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Basic = Join-Path $Vectors 'basic.static.daxfs'
    $script:MiB = 1024 * 1024
    $script:SavedEnv = @{}
    foreach ($n in 'DAXFS_SYSFS_ROOT', 'DAXFS_DEV_ROOT', 'DAXFS_MOUNTINFO', 'DAXFS_ASSUME_ROOT') {
        $script:SavedEnv[$n] = [Environment]::GetEnvironmentVariable($n)
    }
    # The same PowerShell as this one: 'dotnet pwsh.dll' for the tool manifest's pwsh, the apphost otherwise.
    $script:Pwsh = @([Environment]::ProcessPath)
    if ([IO.Path]::GetFileNameWithoutExtension($Pwsh[0]) -eq 'dotnet') { $script:Pwsh += (Join-Path $PSHOME 'pwsh.dll') }

    # A large image (a 256 MiB file of random bytes), so that its write or export takes long enough to be caught.
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) ('daxfs-write-safety-' + [guid]::NewGuid().ToString('n').Substring(0, 8))
    $script:BigSource = Join-Path $Work 'big-src'
    New-Item -ItemType Directory $BigSource | Out-Null
    & head -c (256 * $MiB) /dev/urandom > (Join-Path $BigSource 'big.bin')
    $script:Big = (New-DaxFsImage $BigSource -Destination (Join-Path $Work 'big.daxfs')).Path

    # A fake host with one dax device, dax0.0 (600 MiB), whose node is a sparse file.
    function New-FakeHost {
        $root = Join-Path $Work ('host-' + [guid]::NewGuid().ToString('n').Substring(0, 8))
        $dir = Join-Path $root 'sys/bus/dax/devices/dax0.0'
        New-Item -ItemType Directory -Force $dir, (Join-Path $root 'dev'), (Join-Path $root 'mnt') | Out-Null
        Set-Content (Join-Path $dir size) (600 * $MiB)
        Set-Content (Join-Path $dir align) 2097152
        Set-Content (Join-Path $dir resource) '0x100000000'
        $drv = New-Item -ItemType Directory -Force (Join-Path $root 'sys/bus/dax/drivers/device_dax')
        New-Item -ItemType SymbolicLink -Path (Join-Path $dir driver) -Target $drv.FullName | Out-Null
        $node = Join-Path $root 'dev/dax0.0'
        $f = [IO.File]::Create($node); try { $f.SetLength(600 * $MiB) } finally { $f.Dispose() }
        Set-Content (Join-Path $root 'mountinfo') '' -NoNewline
        $env:DAXFS_SYSFS_ROOT = $root
        $env:DAXFS_DEV_ROOT = Join-Path $root 'dev'
        $env:DAXFS_MOUNTINFO = Join-Path $root 'mountinfo'
        $env:DAXFS_ASSUME_ROOT = '1'
        [pscustomobject]@{ Root = $root; Node = $node; MountPoint = Join-Path $root 'mnt' }
    }

    # Starts a child pwsh (with this process's DAXFS_* variables) running $Command after importing the module.
    # The child starts with the default action for HUP, INT and TERM even when this run ignores them (a suite started
    # under nohup passes its ignored HUP on, and the child would then rightly go on after a hang-up). env execs it, so
    # the process started is the child itself.
    function Start-Child([string] $Command) {
        $psi = [Diagnostics.ProcessStartInfo]::new('env')
        foreach ($a in @('--default-signal=HUP,INT,TERM') + @($Pwsh) + @('-NoProfile', '-NonInteractive', '-Command', "Import-Module '$env:DAXFS_MODULE_PATH'; $Command")) { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardError = $true
        $psi.RedirectStandardOutput = $true
        $p = [Diagnostics.Process]::Start($psi)
        $p
    }

    # The first eight bytes of a file, read without .NET's FileStream (which takes a flock and would wait for the writer's).
    function Get-Head8([string] $Path) { (& head -c 8 $Path | Out-String).TrimEnd("`n") }

    # Waits until $Condition holds (polling every 10 ms), failing after $Seconds.
    function Wait-Until([scriptblock] $Condition, [int] $Seconds = 60, [string] $What = 'the condition') {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        while (-not (& $Condition)) {
            if ($clock.Elapsed.TotalSeconds -gt $Seconds) { throw "Timed out after $Seconds s waiting for $What." }
            Start-Sleep -Milliseconds 10
        }
    }

    function Send-Signal([Diagnostics.Process] $Process, [string] $Signal) { & kill "-$Signal" $Process.Id }

    function Wait-Child([Diagnostics.Process] $Process) {
        if (-not $Process.WaitForExit(120000)) { $Process.Kill($true); throw 'The child did not exit.' }
        $Process.WaitForExit()
        $Process.ExitCode
    }
}

AfterAll {
    foreach ($n in $SavedEnv.Keys) { [Environment]::SetEnvironmentVariable($n, $SavedEnv[$n]) }
    Remove-Item -Recurse -Force $Work -ErrorAction Ignore
}

Describe 'Write-DaxFsImage killed at a random moment' {
    BeforeEach { $h = New-FakeHost }

    It 'leaves a target the gate refuses as IMG-INCOMPLETE-WRITE (or the old or the whole new image), and a rewrite mounts' {
        $marked = 0
        foreach ($round in 1..4) {
            Write-DaxFsImage $Basic -Device dax0.0 -Confirm:$false
            $child = Start-Child "Write-DaxFsImage '$Big' -Device dax0.0 -Confirm:`$false"
            # The marker replaces the old superblock first: from then on the write is under way. Kill at a random moment after.
            Wait-Until { (Get-Head8 $h.Node) -eq 'DAXFSWIP' -or $child.HasExited } -What 'the write to start'
            Start-Sleep -Milliseconds (Get-Random -Minimum 0 -Maximum 400)
            Send-Signal $child KILL
            Wait-Child $child | Should -Be 137

            $findings = @(Test-DaxFsImage $h.Node -Detailed)
            if ((Get-Head8 $h.Node) -eq 'DAXFSWIP') {
                $marked++
                $findings.RuleId | Should -Be @('IMG-INCOMPLETE-WRITE')
                $findings[0].Severity | Should -Be 'Error'
                Test-DaxFsImage $h.Node | Should -BeFalse
                $e = { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
                $e.FullyQualifiedErrorId | Should -Be 'ImageFailsValidation,DaxFs.Commands.MountDaxFsCommand'
                $e.Exception.Message | Should -Match 'IMG-INCOMPLETE-WRITE'
                $e.Exception.Message | Should -Match 'Write-DaxFsImage IMAGE -Device dax0.0'
                $e = { Get-DaxFsImage $h.Node -ErrorAction Stop } | Should -Throw -PassThru
                $e.FullyQualifiedErrorId | Should -Be 'IncompleteWriteAtTarget,DaxFs.Commands.GetDaxFsImageCommand'
                $e = { Save-DaxFsImage -Device dax0.0 -Destination (Join-Path $TestDrive 'x.daxfs') -ErrorAction Stop } | Should -Throw -PassThru
                $e.FullyQualifiedErrorId | Should -Be 'IncompleteWriteAtTarget,DaxFs.Commands.SaveDaxFsImageCommand'
            }
            else {
                # Killed while verifying: the new image is whole.
                @($findings | Where-Object Severity -eq 'Error') | Should -BeNullOrEmpty
            }
            # A rewrite succeeds and passes the gate (the xunit CrashConsistentWriteTests carry it on to the mount call).
            (Write-DaxFsImage $Basic -Device dax0.0 -PassThru -Confirm:$false).Verified | Should -BeTrue
            Test-DaxFsImage $h.Node | Should -BeTrue
        }
        $marked | Should -BeGreaterThan 0 -Because 'at least one kill must land inside the write'
    }
}

Describe 'Two operators on one target' {
    BeforeEach { $h = New-FakeHost }

    It 'refuses a second Write-DaxFsImage, Mount-DaxFs and Save-DaxFsImage naming the writing process, and lets the first finish whole' {
        Write-DaxFsImage $Basic -Device dax0.0 -Confirm:$false
        $child = Start-Child "Write-DaxFsImage '$Big' -Device dax0.0 -Confirm:`$false"
        try {
            Wait-Until { (Get-Head8 $h.Node) -eq 'DAXFSWIP' -or $child.HasExited } -What 'the first write to start'
            Send-Signal $child STOP   # hold the first writer mid-write while the others try
            $child.HasExited | Should -BeFalse

            $e = { Write-DaxFsImage $Basic -Device dax0.0 -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
            $e.FullyQualifiedErrorId | Should -Be 'TargetInUse,DaxFs.Commands.WriteDaxFsImageCommand'
            $e.CategoryInfo.Category | Should -Be 'ResourceBusy'
            $e.TargetObject | Should -Be 'dax0.0'
            $e.Exception.Message | Should -Match "Process $($child.Id) \(.*Write-DaxFsImage .*big\.daxfs.*\) is writing to it"
            $e.Exception.Message | Should -Match "Wait-Process -Id $($child.Id)"

            $e = { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
            $e.FullyQualifiedErrorId | Should -Be 'TargetInUse,DaxFs.Commands.MountDaxFsCommand'
            $e.Exception.Message | Should -Match "Process $($child.Id) "

            $e = { Save-DaxFsImage -Device dax0.0 -Destination (Join-Path $TestDrive 'saved.daxfs') -ErrorAction Stop } | Should -Throw -PassThru
            $e.FullyQualifiedErrorId | Should -Be 'TargetInUse,DaxFs.Commands.SaveDaxFsImageCommand'
            Test-Path (Join-Path $TestDrive 'saved.daxfs') | Should -BeFalse
        }
        finally { Send-Signal $child CONT }
        Wait-Child $child | Should -Be 0
        # Nothing interleaved: the target holds exactly the first writer's image.
        $length = (Get-Item $Big).Length
        (& sh -c "head -c $length '$($h.Node)' | sha256sum").Split(' ')[0] | Should -Be (Get-FileHash $Big -Algorithm SHA256).Hash.ToLowerInvariant()
        # The lock went with the process: a write goes through now.
        (Write-DaxFsImage $Basic -Device dax0.0 -PassThru -Confirm:$false).Verified | Should -BeTrue
    }
}

Describe 'SIGTERM and SIGHUP' {
    BeforeEach {
        $h = New-FakeHost
        $dir = Join-Path $TestDrive ('sig-' + [guid]::NewGuid().ToString('n').Substring(0, 8))
        New-Item -ItemType Directory $dir | Out-Null
    }

    It 'stop New-DaxFsImage like Ctrl+C: the temporary file is removed, the script goes no further, the process ends by <Signal>' -TestCases @(
        @{ Signal = 'TERM'; Exit = 143 }, @{ Signal = 'HUP'; Exit = 129 }
    ) {
        $child = Start-Child "New-DaxFsImage '$BigSource' -Destination '$(Join-Path $dir 'out.daxfs')'; Set-Content '$(Join-Path $dir 'after')' x"
        Wait-Until { @(Get-ChildItem -Force $dir -Filter '.out.daxfs.*.tmp').Count -gt 0 -or $child.HasExited } -What 'the temporary file'
        $child.HasExited | Should -BeFalse
        Send-Signal $child $Signal
        Wait-Child $child | Should -Be $Exit
        @(Get-ChildItem -Force $dir -Filter '.out.daxfs.*.tmp') | Should -BeNullOrEmpty
        Test-Path (Join-Path $dir 'out.daxfs') | Should -BeFalse
        Test-Path (Join-Path $dir 'after') | Should -BeFalse
    }

    It 'stop Write-DaxFsImage like Ctrl+C: the target is refused as incomplete, the lock is released, the process ends by <Signal>' -TestCases @(
        @{ Signal = 'TERM'; Exit = 143 }, @{ Signal = 'HUP'; Exit = 129 }
    ) {
        Write-DaxFsImage $Basic -Device dax0.0 -Confirm:$false
        $child = Start-Child "Write-DaxFsImage '$Big' -Device dax0.0 -Confirm:`$false"
        Wait-Until { (Get-Head8 $h.Node) -eq 'DAXFSWIP' -or $child.HasExited } -What 'the write to start'
        Send-Signal $child $Signal
        Wait-Child $child | Should -Be $Exit
        # The signal came while the body was copied (a 256 MiB body, signalled within about 10 ms of the marker).
        Get-Head8 $h.Node | Should -Be 'DAXFSWIP'
        @(Test-DaxFsImage $h.Node -Detailed).RuleId | Should -Be @('IMG-INCOMPLETE-WRITE')
        (Write-DaxFsImage $Basic -Device dax0.0 -PassThru -Confirm:$false).Verified | Should -BeTrue
    }

    It 'stop Export-DaxFsItem like Ctrl+C: no partly written file is left under its name, the process ends by <Signal>' -TestCases @(
        @{ Signal = 'TERM'; Exit = 143 }, @{ Signal = 'HUP'; Exit = 129 }
    ) {
        $out = Join-Path $dir 'export'
        $child = Start-Child "Export-DaxFsItem '$Big' -Destination '$out'"
        Wait-Until { (Test-Path (Join-Path $out 'big.bin')) -or $child.HasExited } -What 'the export to start'
        $child.HasExited | Should -BeFalse
        Send-Signal $child $Signal
        Wait-Child $child | Should -Be $Exit
        # The signal came while big.bin (256 MiB) was written: the part written is removed, as on Ctrl+C.
        Test-Path (Join-Path $out 'big.bin') | Should -BeFalse
        Test-Path $out | Should -BeTrue
    }
}

Describe 'A stale temporary file of a killed build' {
    BeforeEach {
        $dir = Join-Path $TestDrive ('stale-' + [guid]::NewGuid().ToString('n').Substring(0, 8))
        New-Item -ItemType Directory $dir | Out-Null
    }

    It 'is left by SIGKILL and removed, with a warning naming the dead process, by the next build to the same destination' {
        $dest = Join-Path $dir 'out.daxfs'
        $child = Start-Child "New-DaxFsImage '$BigSource' -Destination '$dest'"
        Wait-Until { @(Get-ChildItem -Force $dir -Filter '.out.daxfs.*.tmp').Count -gt 0 -or $child.HasExited } -What 'the temporary file'
        Send-Signal $child KILL
        Wait-Child $child | Should -Be 137
        $stale = @(Get-ChildItem -Force $dir -Filter '.out.daxfs.*.tmp')
        $stale.Count | Should -Be 1
        $stale[0].Name | Should -Match "^\.out\.daxfs\.$($child.Id)-\d+\.[0-9a-f]{12}\.tmp$"

        # Beside it: a temporary file of a build still running (this process) and one of an older DaxFs (no pid).
        $start = (Get-Content "/proc/$PID/stat" -Raw).Split(')')[-1].Trim().Split(' ')[19]
        $live = Join-Path $dir ".out.daxfs.$PID-$start.0123456789ab.tmp"
        $legacy = Join-Path $dir '.out.daxfs.abcdefabcdef.tmp'
        Set-Content $live 'x'; Set-Content $legacy 'y'

        $img = New-DaxFsImage $BigSource -Destination $dest -WarningVariable w 3>$null
        $img.Path | Should -Be $dest
        Test-Path $stale[0].FullName | Should -BeFalse
        ($w -join "`n") | Should -Match ([regex]::Escape("Removed '$($stale[0].FullName)'") + ".*by process $($child.Id), which no longer runs")
        ($w -join "`n") | Should -Match ([regex]::Escape("'$legacy'") + '.*remove it if no build')
        Test-Path $live | Should -BeTrue
        Test-Path $legacy | Should -BeTrue
        @($w | Where-Object { "$_" -match [regex]::Escape($live) }) | Should -BeNullOrEmpty
    }
}

Describe 'Sources that are not files' {
    BeforeAll {
        $script:Odd = Join-Path $Work 'odd'
        New-Item -ItemType Directory -Force $Odd | Out-Null
        $script:Fifo = Join-Path $Odd 'fifo'
        & mkfifo $Fifo
        $script:Socket = Join-Path $Odd 'sock'
        $script:SocketHolder = [Net.Sockets.Socket]::new([Net.Sockets.AddressFamily]::Unix, [Net.Sockets.SocketType]::Stream, [Net.Sockets.ProtocolType]::Unspecified)
        $SocketHolder.Bind([Net.Sockets.UnixDomainSocketEndPoint]::new($Socket))
    }
    AfterAll { $SocketHolder.Dispose() }

    It '<Cmdlet> <Name> fails at once with ImageNotAFile (a FIFO never blocks the open)' -TestCases @(
        @{ Cmdlet = 'Get-DaxFsImage'; Name = 'fifo' }, @{ Cmdlet = 'Get-DaxFsItem'; Name = 'fifo' }, @{ Cmdlet = 'Test-DaxFsImage'; Name = 'fifo' },
        @{ Cmdlet = 'Get-DaxFsImage'; Name = 'sock' }, @{ Cmdlet = 'Test-DaxFsImage'; Name = 'sock' },
        @{ Cmdlet = 'Get-DaxFsImage'; Name = '/dev/null' }, @{ Cmdlet = 'Test-DaxFsImage'; Name = '/dev/zero' }
    ) {
        $path = if ($Name.StartsWith('/')) { $Name } else { Join-Path $Odd $Name }
        # A safety net: if the open blocks (as it did), a writer opens the FIFO after 20 s so the test fails instead of hanging.
        $net = if ($Name -eq 'fifo') {
            $psi = [Diagnostics.ProcessStartInfo]::new('sh')
            foreach ($a in '-c', 'sleep 20; : > "$1"', 'net', $Fifo) { $psi.ArgumentList.Add($a) }
            [Diagnostics.Process]::Start($psi)
        }
        try {
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $e = { & $Cmdlet $path -ErrorAction Stop } | Should -Throw -PassThru
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
        }
        finally { if ($net) { $net.Kill(); $net.WaitForExit() } }
        $e.FullyQualifiedErrorId | Should -Be "ImageNotAFile,DaxFs.Commands.$($Cmdlet -replace '-', '')Command"
        $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $e.TargetObject | Should -Be $path
        $e.Exception.Message | Should -Match 'not an image file|not a dax device'
    }

    It 'Test-DaxFsImage DIR says ImageIsDirectory, as Get-DaxFsImage does (not PermissionDenied)' {
        $e = { Test-DaxFsImage $Odd -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'ImageIsDirectory,DaxFs.Commands.TestDaxFsImageCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $e.Exception.Message | Should -Match ([regex]::Escape("New-DaxFsImage -Path '$Odd'"))
        $g = { Get-DaxFsImage $Odd -ErrorAction Stop } | Should -Throw -PassThru
        $g.FullyQualifiedErrorId | Should -Be 'ImageIsDirectory,DaxFs.Commands.GetDaxFsImageCommand'
    }

    It 'one bad input among several is a non-terminating error: the images after it are still tested' {
        $r = @(Test-DaxFsImage $Fifo, $Basic -ErrorVariable errs -ErrorAction SilentlyContinue)
        $r | Should -Be @($true)
        $errs[0].FullyQualifiedErrorId | Should -Be 'ImageNotAFile,DaxFs.Commands.TestDaxFsImageCommand'
    }

    It 'an image file and a symlink to one still open' {
        $link = Join-Path $Odd 'link.daxfs'
        New-Item -ItemType SymbolicLink -Path $link -Target $Basic -Force | Out-Null
        (Get-DaxFsImage $link).InodeCount | Should -Be (Get-DaxFsImage $Basic).InodeCount
        Test-DaxFsImage $link | Should -BeTrue
    }
}
